//! `verify_anchored` against a real chain: localnet (Surfpool with our
//! programs), a batch of signed messages anchored with `submit_batch`.

use aether_localnet::{Config, Localnet};
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{MessageBuilder, PostBuilder};
use aether_sdk::programs::anchors;
use aether_sdk::proof::{leaf_of, merkle, verify_anchored, AnchoredProof, ProofError};
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;

#[tokio::test(flavor = "multi_thread")]
async fn messages_anchored_on_chain_verify() {
    let config = Config {
        rpc_port: aether_localnet::free_port_pair().expect("a free port pair"),
        slot_ms: 100,
        bootstrap: true,
        ..Config::default()
    };
    let localnet = Localnet::start(config).await.expect("localnet starts");
    let report = aether_localnet::bootstrap(localnet.config(), &localnet.key_dir())
        .await
        .expect("bootstrap");
    let authority = solana_keypair::read_keypair_file(&report.authority_keypair).unwrap();
    let rpc = RpcClient::new_with_commitment(localnet.rpc_url(), CommitmentConfig::confirmed());

    let account = SolanaAccount::generate();
    let messages: Vec<_> = (0..5)
        .map(|i| {
            MessageBuilder::new(&account)
                .build(PostBuilder::new("note").content(json!({ "i": i })))
                .unwrap()
                .message
        })
        .collect();
    let leaves: Vec<_> = messages.iter().map(leaf_of).collect();
    let root = merkle::root(&leaves).unwrap();

    // The authority is on the anchors allowlist after bootstrap.
    let ix = anchors::submit_batch_allowlisted(authority.pubkey(), root, 5, b"batch-1".to_vec());
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(
        &[ix],
        Some(&authority.pubkey()),
        &[&authority],
        blockhash,
    );
    rpc.send_and_confirm_transaction(&tx).await.unwrap();

    for (i, message) in messages.iter().enumerate() {
        let proof = AnchoredProof::build(&authority.pubkey(), 1, &leaves, i).unwrap();
        // The proof travels as JSON.
        let proof: AnchoredProof =
            serde_json::from_str(&serde_json::to_string(&proof).unwrap()).unwrap();
        let entry = verify_anchored(message, &proof, &rpc).await.unwrap();
        assert_eq!((entry.seq, entry.root, entry.count), (1, root, 5));
    }

    // Another message with a real proof of someone else's leaf.
    let stranger = MessageBuilder::new(&account)
        .build(PostBuilder::new("note").content(json!({ "i": 99 })))
        .unwrap()
        .message;
    let proof = AnchoredProof::build(&authority.pubkey(), 1, &leaves, 2).unwrap();
    assert!(matches!(
        verify_anchored(&stranger, &proof, &rpc).await,
        Err(ProofError::NotIncluded { seq: 1 })
    ));
    // A batch that was never anchored.
    let mut later = AnchoredProof::build(&authority.pubkey(), 1, &leaves, 0).unwrap();
    later.seq = 2;
    assert!(matches!(
        verify_anchored(&messages[0], &later, &rpc).await,
        Err(ProofError::NotInWindow {
            seq: 2,
            last: 1,
            ..
        })
    ));
    // The same proof, said to be vouched for by a key that anchored nothing.
    let mut elsewhere = AnchoredProof::build(&authority.pubkey(), 1, &leaves, 0).unwrap();
    elsewhere.submitter = solana_keypair::Keypair::new().pubkey().to_string();
    assert!(matches!(
        verify_anchored(&messages[0], &elsewhere, &rpc).await,
        Err(ProofError::Rpc(_))
    ));
    // A tampered message fails before the chain is asked.
    let mut tampered = messages[0].clone();
    tampered.item_content = Some(r#"{"x":1}"#.into());
    let proof = AnchoredProof::build(&authority.pubkey(), 1, &leaves, 0).unwrap();
    assert!(matches!(
        verify_anchored(&tampered, &proof, &rpc).await,
        Err(ProofError::Message(_))
    ));
    // A sibling that is not a hash.
    let mut bad = proof.clone();
    bad.siblings[0] = "zz".into();
    assert!(matches!(
        verify_anchored(&messages[0], &bad, &rpc).await,
        Err(ProofError::Malformed(_))
    ));
    // A sibling changed by one bit.
    let mut flipped = proof.clone();
    let mut bytes = hex::decode(&flipped.siblings[0]).unwrap();
    bytes[0] ^= 1;
    flipped.siblings[0] = hex::encode(bytes);
    assert!(matches!(
        verify_anchored(&messages[0], &flipped, &rpc).await,
        Err(ProofError::NotIncluded { .. })
    ));
    localnet.stop();
}
