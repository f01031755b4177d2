//! The checker's reference program in a local cluster: a page that says
//! [`REFERENCE_TEXT`], posted once by the core operator with a stream that
//! pays one node to serve it. The checker asks every resource node for it
//! through its router, so a node that serves programs well can score the
//! full 10,000. Its item hash is kept in `<data-dir>/reference.json`.

use std::path::Path;
use std::sync::Arc;

use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{Interface, MessageBuilder, ProgramBuilder, StoreBuilder};
use aether_sdk::node_client::{NodeClient, StorageEngine};
use aether_sdk::programs::client::AetherClient;
use aether_sdk::programs::escrow;

use crate::{blocking, ClusterError};

/// What the reference program answers.
pub const REFERENCE_TEXT: &str = "aether reference ok";

/// Base units a second the operator pays for it (the registry's lowest
/// price), and what it deposits: enough for about three years.
const RATE: u64 = 1;
const DEPOSIT: u64 = 100_000_000;

fn part(why: impl std::fmt::Display) -> ClusterError {
    ClusterError::Part {
        part: "the reference program",
        why: why.to_string(),
    }
}

/// The reference program's item hash: the one made earlier, or a new one
/// posted on the core node at `node_url` by the operator (its keypair
/// file, and its program client), with its stream.
pub async fn ensure(
    data: &Path,
    node_url: &str,
    keypair: &Path,
    operator: Arc<AetherClient>,
) -> Result<String, ClusterError> {
    let record = data.join("reference.json");
    let node = NodeClient::new(node_url);
    if let Ok(text) = std::fs::read_to_string(&record) {
        let known: serde_json::Value = serde_json::from_str(&text).map_err(part)?;
        if let Some(hash) = known["program"].as_str() {
            if node.message(hash).await.is_ok() {
                return Ok(hash.to_owned());
            }
        }
    }
    let dir = data.join("reference");
    let www = dir.join("tree/www");
    std::fs::create_dir_all(&www).map_err(|e| ClusterError::Io(www.clone(), e))?;
    std::fs::write(www.join("index.html"), format!("{REFERENCE_TEXT}\n"))
        .map_err(|e| ClusterError::Io(www.clone(), e))?;
    let image = dir.join("code.ext4");
    aether_vm_host::volumes::code_volume_from_dir(&dir.join("tree"), &image, 16 << 20)
        .map_err(part)?;
    let file = node
        .upload_file(&image, StorageEngine::Storage, |_, _| {})
        .await
        .map_err(part)?;
    let account = SolanaAccount::from_keypair_file(keypair).map_err(part)?;
    let store = MessageBuilder::new(&account)
        .build(StoreBuilder::new(file).map_err(part)?)
        .map_err(part)?;
    node.post_message(&store, true).await.map_err(part)?;
    let program = MessageBuilder::new(&account)
        .build(
            ProgramBuilder::new(
                store.message.item_hash.clone(),
                "exec httpd -f -p 127.0.0.1:$PORT -h /code/www",
                store.message.item_hash.clone(),
            )
            .memory_mib(128)
            .with(|c| c.code.interface = Some(Interface::Binary)),
        )
        .map_err(part)?;
    node.post_message(&program, true).await.map_err(part)?;
    let hash = program.message.item_hash.clone();
    let mut resource = [0u8; 32];
    hex::decode_to_slice(&hash, &mut resource).map_err(part)?;
    blocking(move || {
        if operator.stream(&operator.payer(), &resource)?.is_none() {
            operator.open_stream(escrow::OpenStreamArgs {
                resource,
                kind: escrow::StreamKind::Compute,
                max_rate_per_second: RATE,
                replicas: 1,
                deposit: DEPOSIT,
                serve: escrow::ServePolicy::MinScore(0),
                allowed: Vec::new(),
                size_bytes: 0,
            })?;
        }
        Ok(())
    })
    .await?;
    std::fs::write(
        &record,
        serde_json::json!({ "program": hash, "expect": REFERENCE_TEXT }).to_string(),
    )
    .map_err(|e| ClusterError::Io(record.clone(), e))?;
    Ok(hash)
}
