//! Two live nodes, each the other's peer: a message posted to one is served
//! by the other within seconds, and a STORE's file follows on demand.

use std::path::Path;
use std::time::{Duration, Instant};

use aether_node::Node;
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{MessageBuilder, StoreBuilder};
use aether_sdk::node_client::{ClientError, MessageStatus, NodeClient};
use serde_json::json;

mod common;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start(dir: &Path, port: u16, peer: u16) -> Node {
    common::start_with(dir, |config| {
        config.port = port;
        config.peers = vec![format!("http://127.0.0.1:{peer}")];
    })
    .await
}

async fn processed_on(client: &NodeClient, hash: &str) -> Duration {
    let start = Instant::now();
    loop {
        match client.message(hash).await {
            Ok(m) if m.status == MessageStatus::Processed => return start.elapsed(),
            Ok(_) | Err(ClientError::NotFound(_)) => {}
            Err(e) => panic!("{e}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{hash} did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_and_files_reach_the_peer() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a_port, b_port) = (free_port(), free_port());
    let a = start(a_dir.path(), a_port, b_port).await;
    let b = start(b_dir.path(), b_port, a_port).await;
    let (to_a, to_b) = (NodeClient::new(a.url()), NodeClient::new(b.url()));
    let account = SolanaAccount::generate();

    let post = common::post(&account, "note", json!({"hello": "peers"}));
    to_a.post_message(&post, true).await.unwrap();
    processed_on(&to_b, &post.message.item_hash).await;
    // And back the other way, without echoing forever.
    let reply = common::post(&account, "note", json!({"hello": "back"}));
    to_b.post_message(&reply, true).await.unwrap();
    processed_on(&to_a, &reply.message.item_hash).await;

    // A file uploaded to A only; its STORE reaches B, which fetches the file.
    let scratch = tempfile::tempdir().unwrap();
    let bytes = b"<html>served by both</html>".repeat(1000);
    let hash = common::upload(&to_a, scratch.path(), "site.html", &bytes).await;
    let store = MessageBuilder::new(&account)
        .build(StoreBuilder::new(&hash).unwrap())
        .unwrap();
    to_a.post_message(&store, true).await.unwrap();
    processed_on(&to_b, &store.message.item_hash).await;
    let mut out = Vec::new();
    to_b.download_file(&hash, &mut out, |_, _| {})
        .await
        .unwrap();
    assert_eq!(out, bytes);

    let total = |c: NodeClient| async move {
        c.messages(&Default::default(), 1, 100)
            .await
            .unwrap()
            .pagination_total
    };
    assert_eq!(total(to_a.clone()).await, 3);
    assert_eq!(total(to_b.clone()).await, 3);
    a.stop().await;
    b.stop().await;
}
