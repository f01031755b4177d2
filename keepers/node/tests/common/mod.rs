//! Shared by the node's tests: a node started in a temp dir, files
//! uploaded to it, signed posts, raw JSON over HTTP; and, for the tests
//! that need a chain, localnet, bootstrapped, and a node anchoring on it.
// Not every test binary uses every helper.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use aether_localnet::{BootstrapReport, Localnet};
use aether_node::anchoring::AnchorConfig;
use aether_node::{Config, Node};
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{MessageBuilder, PostBuilder, SignedMessage};
use aether_sdk::node_client::{NodeClient, StorageEngine};
use serde_json::Value;
use tempfile::TempDir;

/// A node with its data in `dir`, on a free port, its config changed by
/// `configure` before it starts.
pub async fn start_with(dir: impl Into<PathBuf>, configure: impl FnOnce(&mut Config)) -> Node {
    let mut config = Config::new(dir);
    config.port = 0;
    configure(&mut config);
    Node::start(config).await.expect("the node starts")
}

/// A node with its data in `dir`, on a free port, configured by default.
pub async fn start(dir: &Path) -> Node {
    start_with(dir, |_| {}).await
}

/// A node in a fresh temp dir (configured by `configure`), and a client
/// for it. The dir is removed when dropped: keep it as long as the node.
pub async fn temp_node_with(configure: impl FnOnce(&mut Config)) -> (TempDir, Node, NodeClient) {
    let dir = tempfile::tempdir().unwrap();
    let node = start_with(dir.path(), configure).await;
    let client = NodeClient::new(node.url());
    (dir, node, client)
}

/// A node configured by default in a fresh temp dir, and a client for it.
pub async fn temp_node() -> (TempDir, Node, NodeClient) {
    temp_node_with(|_| {}).await
}

/// Writes `bytes` to `dir/name` and uploads that file to the node's
/// storage; returns its hash.
pub async fn upload(client: &NodeClient, dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    client
        .upload_file(&path, StorageEngine::Storage, |_, _| {})
        .await
        .unwrap()
}

/// A POST of type `post_type` holding `content`, signed by `who`.
pub fn post(who: &SolanaAccount, post_type: &str, content: Value) -> SignedMessage {
    MessageBuilder::new(who)
        .build(PostBuilder::new(post_type).content(content))
        .unwrap()
}

/// `body` POSTed to `url` as JSON; the node's answer, whatever its status.
pub async fn post_json(
    http: &reqwest::Client,
    url: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    http.post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the node answers")
}

/// The JSON served at `url`.
pub async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

/// A bootstrapped localnet on free ports.
pub async fn chain() -> (Localnet, BootstrapReport) {
    chain_funding(Vec::new()).await
}

#[allow(unused_imports)]
pub use aether_testing::chain_funding;

/// A node in `dir` anchoring every 300 ms, batches of at most
/// `max_messages`, signed by the bootstrap authority (on the allowlist).
pub async fn anchoring_node(
    dir: &Path,
    localnet: &Localnet,
    report: &BootstrapReport,
    max_messages: usize,
) -> Node {
    anchoring_node_signed_by(dir, localnet, &report.authority_keypair, max_messages).await
}

/// A node in `dir` anchoring every 300 ms, signed by the key in `keypair`.
pub async fn anchoring_node_signed_by(
    dir: &Path,
    localnet: &Localnet,
    keypair: &Path,
    max_messages: usize,
) -> Node {
    start_with(dir, |config| {
        config.anchoring = Some(AnchorConfig {
            rpc_url: localnet.rpc_url(),
            keypair: keypair.to_path_buf(),
            interval: Duration::from_millis(300),
            max_messages,
        });
    })
    .await
}
