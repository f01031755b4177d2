//! Anchoring on a real chain (localnet): the node batches what it
//! processed, writes the merkle root with `submit_batch`, serves each
//! message's proof, and the SDK checks that proof against the chain.

use std::time::{Duration, Instant};

use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{MessageBuilder, PostBuilder};
use aether_sdk::node_client::{ClientError, NodeClient};
use aether_sdk::proof::verify_anchored;
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;

mod common;

#[tokio::test(flavor = "multi_thread")]
async fn processed_messages_are_anchored_and_proven() {
    let (localnet, report) = common::chain().await;
    let dir = tempfile::tempdir().unwrap();
    let node = common::anchoring_node(dir.path(), &localnet, &report, 1000).await;
    let client = NodeClient::new(node.url());

    let account = SolanaAccount::generate();
    let mut messages = Vec::new();
    for i in 0..7 {
        let signed = MessageBuilder::new(&account)
            .build(PostBuilder::new("note").content(json!({ "i": i })))
            .unwrap();
        client.post_message(&signed, true).await.unwrap();
        messages.push(signed.message);
    }

    let rpc = RpcClient::new_with_commitment(localnet.rpc_url(), CommitmentConfig::confirmed());
    let deadline = Instant::now() + Duration::from_secs(60);
    for message in &messages {
        let proof = loop {
            match client.proof(&message.item_hash).await {
                Ok(proof) => break proof,
                Err(ClientError::NotFound(_)) => {
                    assert!(Instant::now() < deadline, "not anchored within 60 s");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("{e}"),
            }
        };
        let entry = verify_anchored(message, &proof, &rpc).await.unwrap();
        assert_eq!(entry.seq, proof.seq);
    }
    // A proof for one message does not prove another.
    let proof = client.proof(&messages[0].item_hash).await.unwrap();
    assert!(verify_anchored(&messages[1], &proof, &rpc).await.is_err());
    // A message nobody posted has no proof.
    assert!(matches!(
        client.proof(&"ab".repeat(32)).await,
        Err(ClientError::NotFound(_))
    ));

    node.stop().await;
    localnet.stop();
}
