//! Resync: a second node, started empty with a resync from the chain, ends
//! with exactly the first node's processed messages, checked against the
//! anchored roots; a node whose peers cannot give the batches lists them.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aether_node::resync::ResyncConfig;
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{AggregateBuilder, MessageBuilder, PostBuilder, StoreBuilder};
use aether_sdk::node_client::{MessageFilter, NodeClient};
use serde_json::json;

async fn processed(client: &NodeClient) -> BTreeSet<String> {
    let page = client
        .messages(&MessageFilter::default(), 1, 0)
        .await
        .unwrap();
    page.messages.into_iter().map(|m| m.item_hash).collect()
}

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_node_rebuilds_from_the_chain_and_its_peers() {
    let (localnet, report) = common::chain().await;
    let a_dir = tempfile::tempdir().unwrap();
    let a = common::anchoring_node(a_dir.path(), &localnet, &report, 7).await;
    let to_a = NodeClient::new(a.url());

    let account = SolanaAccount::generate();
    let b = MessageBuilder::new(&account);
    for i in 0..12 {
        to_a.post_message(
            &b.build(PostBuilder::new("note").content(json!({ "i": i })))
                .unwrap(),
            true,
        )
        .await
        .unwrap();
    }
    to_a.post_message(
        &b.build(AggregateBuilder::new("profile", json!({"name": "Ada"})))
            .unwrap(),
        true,
    )
    .await
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let file = common::upload(&to_a, scratch.path(), "page.html", b"<p>resynced</p>").await;
    to_a.post_message(&b.build(StoreBuilder::new(&file).unwrap()).unwrap(), true)
        .await
        .unwrap();

    // Wait until A has anchored everything (batches of at most 7).
    let expected = processed(&to_a).await;
    assert_eq!(expected.len(), 14);
    let deadline = Instant::now() + Duration::from_secs(60);
    for hash in &expected {
        while to_a.proof(hash).await.is_err() {
            assert!(Instant::now() < deadline, "not anchored in time");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    // B starts empty, with A as its only peer, and rebuilds.
    let b_dir = tempfile::tempdir().unwrap();
    let progress = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = progress.clone();
    let mut node_b = common::start_with(b_dir.path(), |config| {
        config.peers = vec![a.url()];
        config.resync = Some(ResyncConfig {
            rpc_url: localnet.rpc_url(),
            retries: 1,
            progress: Some(std::sync::Arc::new(move |done, total, _| {
                seen.lock().unwrap().push((done, total))
            })),
        });
    })
    .await;
    let resync = node_b.resync_report().await.unwrap().unwrap();
    assert!(resync.batches >= 2, "{resync:?}");
    assert!(resync.missing.is_empty(), "{resync:?}");
    let to_b = NodeClient::new(node_b.url());
    assert_eq!(processed(&to_b).await, expected);
    assert_eq!(
        to_b.aggregates(
            &aether_sdk::message::sign::Signer::address(&account),
            &["profile"]
        )
        .await
        .unwrap()["profile"],
        json!({"name": "Ada"})
    );
    let mut out = Vec::new();
    to_b.download_file(&file, &mut out, |_, _| {})
        .await
        .unwrap();
    assert_eq!(out, b"<p>resynced</p>");
    let progress = progress.lock().unwrap().clone();
    assert_eq!(progress.last().map(|p| p.0), Some(resync.batches as u64));

    // C's only peer is gone: every batch is listed as missing, none blocks.
    let c_dir = tempfile::tempdir().unwrap();
    let mut node_c = common::start_with(c_dir.path(), |config| {
        config.peers = vec!["http://127.0.0.1:9".into()];
        config.resync = Some(ResyncConfig {
            rpc_url: localnet.rpc_url(),
            retries: 0,
            progress: None,
        });
    })
    .await;
    let resync_c = node_c.resync_report().await.unwrap().unwrap();
    assert_eq!(resync_c.missing.len(), resync.batches);
    assert_eq!(resync_c.imported, 0);

    node_c.stop().await;
    node_b.stop().await;
    a.stop().await;
    localnet.stop();
}
