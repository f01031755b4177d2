//! Anchoring on a real chain (localnet): the node batches what it
//! processed, writes the merkle root with `submit_batch`, serves each
//! message's proof, and the SDK checks that proof against the chain.

use std::time::{Duration, Instant};

use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::node_client::{ClientError, NodeClient};
use aether_sdk::proof::{verify_anchored, AnchoredProof};
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;

mod common;

/// `hash`'s proof once the node has anchored it, asked for every 200 ms;
/// fails with `late` if it is still missing at `deadline`.
async fn proof_by(client: &NodeClient, hash: &str, deadline: Instant, late: &str) -> AnchoredProof {
    loop {
        match client.proof(hash).await {
            Ok(proof) => return proof,
            Err(ClientError::NotFound(_)) => {
                assert!(Instant::now() < deadline, "{late}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn processed_messages_are_anchored_and_proven() {
    let (localnet, report) = common::chain().await;
    let dir = tempfile::tempdir().unwrap();
    let node = common::anchoring_node(dir.path(), &localnet, &report, 1000).await;
    let client = NodeClient::new(node.url());

    let account = SolanaAccount::generate();
    let mut messages = Vec::new();
    for i in 0..7 {
        let signed = common::post(&account, "note", json!({ "i": i }));
        client.post_message(&signed, true).await.unwrap();
        messages.push(signed.message);
    }

    let rpc = RpcClient::new_with_commitment(localnet.rpc_url(), CommitmentConfig::confirmed());
    let deadline = Instant::now() + Duration::from_secs(60);
    for message in &messages {
        let proof = proof_by(
            &client,
            &message.item_hash,
            deadline,
            "not anchored within 60 s",
        )
        .await;
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

/// An operator with no place on the allowlist anchors once its staking
/// node is active and registered as a core node, and not before: until
/// then the program refuses its batches, and nothing is marked anchored.
#[tokio::test(flavor = "multi_thread")]
async fn a_staked_core_node_anchors_without_the_allowlist() {
    use aether_sdk::programs::client::AetherClient;
    use aether_sdk::programs::registry::{self, RegisterCoreNodeArgs};
    use aether_sdk::programs::staking;
    use solana_keypair::{write_keypair_file, Keypair};
    use solana_signer::Signer;

    const TOKEN: u64 = 1_000_000;
    let operator = Keypair::new();
    let (localnet, _report) = common::chain_funding(vec![operator.pubkey()]).await;
    let dir = tempfile::tempdir().unwrap();
    let keypair = dir.path().join("operator.json");
    write_keypair_file(&operator, &keypair).unwrap();

    // A staking node above the activation threshold (pending until the
    // epoch closes), registered as a core node.
    let url = localnet.rpc_url();
    let key = operator.insecure_clone();
    let client = tokio::task::spawn_blocking(move || {
        let client = AetherClient::new(&url, key);
        client.create_node(500_000 * TOKEN).unwrap();
        client
            .send(vec![registry::register_core_node(
                client.payer(),
                RegisterCoreNodeArgs {
                    endpoint: "http://127.0.0.1:4024".into(),
                    p2p_address: "/ip4/127.0.0.1/tcp/4025".into(),
                },
            )])
            .unwrap();
        client
    })
    .await
    .unwrap();

    let node =
        common::anchoring_node_signed_by(&dir.path().join("node"), &localnet, &keypair, 100).await;
    let api = NodeClient::new(node.url());
    let account = SolanaAccount::generate();
    let signed = common::post(&account, "note", json!({ "core": true }));
    api.post_message(&signed, true).await.unwrap();

    // Pending, not active: several intervals pass and nothing is anchored.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(matches!(
        api.proof(&signed.message.item_hash).await,
        Err(ClientError::NotFound(_))
    ));

    // Close epoch 0 (just past its end, by the chain's clock): the node
    // becomes active in epoch 1.
    let (client, end) = tokio::task::spawn_blocking(move || {
        let config = client.staking_config().unwrap();
        (client, config.epoch_ends_at().unwrap())
    })
    .await
    .unwrap();
    localnet.time_travel(end + 1).await.unwrap();
    let client = tokio::task::spawn_blocking(move || {
        client
            .send(vec![staking::crank_epoch(client.payer(), 0)])
            .unwrap();
        assert_eq!(client.staking_config().unwrap().epoch, 1);
        client
    })
    .await
    .unwrap();

    let rpc = RpcClient::new_with_commitment(localnet.rpc_url(), CommitmentConfig::confirmed());
    let deadline = Instant::now() + Duration::from_secs(60);
    let proof = proof_by(
        &api,
        &signed.message.item_hash,
        deadline,
        "not anchored within 60 s of activation",
    )
    .await;
    verify_anchored(&signed.message, &proof, &rpc)
        .await
        .unwrap();
    let seq = proof.seq;
    // The proof names the node's operator, whose own log holds the root.
    let submitter = proof.submitter().unwrap();
    tokio::task::spawn_blocking(move || {
        let log = client.batch_log(&submitter).unwrap();
        assert_eq!(log.submitter, submitter);
        assert!(log.entries.iter().any(|e| e.seq == seq));
    })
    .await
    .unwrap();

    node.stop().await;
    localnet.stop();
}
