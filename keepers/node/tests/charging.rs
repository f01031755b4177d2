//! Paying by holding tokens, against a real localnet: a message the
//! balance cannot cover is refused with the shortfall and nothing stored
//! (of two racing for the last of the balance, one);
//! content paid by a stream is exempt; when the balance drops the newest
//! content is marked, lifted as it recovers, and collected (its file
//! deleted) after the grace period; nothing paid for is collected.

use std::time::Duration;

use aether_node::charging::{ChargingConfig, Costs};
use aether_node::writer::StatusChange;
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{
    Chain, MessageBuilder, Payment, PaymentType, ProgramBuilder, SignedMessage, StoreBuilder,
};
use aether_sdk::node_client::{ClientError, MessageStatus, NodeClient};
use aether_sdk::programs::escrow;
use aether_testing::{blocking, chain_with_keys, client};
use solana_signer::Signer;

mod common;

/// Uploads 1 MiB of `byte` and signs a STORE of it.
async fn store(
    node: &NodeClient,
    owner: &SolanaAccount,
    dir: &std::path::Path,
    byte: u8,
) -> (SignedMessage, String) {
    let file = common::upload(node, dir, &format!("file-{byte}"), &vec![byte; 1024 * 1024]).await;
    let signed = MessageBuilder::new(owner)
        .build(StoreBuilder::new(file.clone()).unwrap())
        .unwrap();
    (signed, file)
}

async fn status(node: &NodeClient, hash: &str) -> MessageStatus {
    node.message(hash).await.unwrap().status
}

async fn raw(node: &str, file: &str) -> u16 {
    reqwest::get(format!("{node}/api/v0/storage/raw/{file}"))
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn holdings_are_charged_against_the_balance_and_collected_when_it_drops() {
    let (localnet, _report, keys) = chain_with_keys(2).await;
    let other_chain = client(&localnet, &keys[1]);
    let dapp_key = keys[0].pubkey();
    let balance = {
        let c = client(&localnet, &keys[0]);
        blocking(move || c.token_balance(&dapp_key).unwrap()).await
    };
    assert!(balance > 0 && balance % 4 == 0);
    let quarter = balance / 4;

    let dir = tempfile::tempdir().unwrap();
    let core = common::start_with(dir.path().join("node"), |config| {
        config.gc_grace = Duration::ZERO;
        config.charging = Some(ChargingConfig {
            rpc_url: localnet.rpc_url(),
            // A 1 MiB file or a vCPU costs a quarter of what the dApp holds.
            costs: Costs {
                per_mib_stored: quarter,
                per_vcpu: quarter,
                per_mib_memory: 0,
            },
            grace: Duration::from_secs(2),
            // Rounds are run by the test.
            interval: Duration::from_secs(3600),
        });
    })
    .await;
    let node = NodeClient::new(core.url());
    let dapp = SolanaAccount::from_bytes(&keys[0].to_bytes()).unwrap();

    // Four 1 MiB files fit the balance exactly: three, then two racing for
    // the last quarter, of which one is taken.
    let mut stores = Vec::new();
    let mut first = None;
    for byte in 1..=3u8 {
        let (signed, file) = store(&node, &dapp, dir.path(), byte).await;
        node.post_message(&signed, true).await.unwrap();
        first.get_or_insert(signed.clone());
        assert_eq!(
            status(&node, &signed.message.item_hash).await,
            MessageStatus::Processed
        );
        stores.push((signed.message.item_hash.clone(), file));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let racing = [
        store(&node, &dapp, dir.path(), 4).await,
        store(&node, &dapp, dir.path(), 5).await,
    ];
    let (a, b) = tokio::join!(
        node.post_message(&racing[0].0, true),
        node.post_message(&racing[1].0, true)
    );
    let (taken, refused, (fifth, fifth_file)) = match (a, b) {
        (Ok(_), Err(e)) => (racing[0].clone(), e, racing[1].clone()),
        (Err(e), Ok(_)) => (racing[1].clone(), e, racing[0].clone()),
        (a, b) => panic!("one of two racing posts must be refused: {a:?} {b:?}"),
    };
    stores.push((taken.0.message.item_hash.clone(), taken.1));
    // The other is refused with the shortfall, and not stored.
    let text = refused.to_string();
    assert!(
        matches!(
            refused,
            ClientError::Http { status: 402, .. } | ClientError::Rejected { .. }
        ),
        "{text}"
    );
    assert!(text.contains("insufficient_balance"), "{text}");
    assert!(text.contains(&format!("short by {quarter}")), "{text}");
    assert!(matches!(
        node.message(&fifth.message.item_hash).await,
        Err(ClientError::NotFound(_))
    ));
    // A message already held is not charged twice when sent again.
    assert_eq!(
        node.post_message(first.as_ref().unwrap(), true)
            .await
            .unwrap(),
        MessageStatus::Processed
    );
    // A program paid by holding is refused too; one paid by a stream is not.
    let code = stores[0].0.clone();
    let held_program = MessageBuilder::new(&dapp)
        .build(ProgramBuilder::new(code.clone(), "run", code.clone()))
        .unwrap();
    assert!(node
        .post_message(&held_program, true)
        .await
        .unwrap_err()
        .to_string()
        .contains("short by"));
    let streamed_program = MessageBuilder::new(&dapp)
        .build(
            ProgramBuilder::new(code.clone(), "run", code.clone()).payment(Payment {
                chain: Some(Chain::Sol),
                receiver: None,
                payment_type: PaymentType::Superfluid,
            }),
        )
        .unwrap();
    node.post_message(&streamed_program, true).await.unwrap();
    // Someone opens a storage stream for the fifth file: now it is accepted.
    let mut resource = [0u8; 32];
    hex::decode_to_slice(&fifth.message.item_hash, &mut resource).unwrap();
    blocking(move || {
        other_chain
            .open_stream(escrow::OpenStreamArgs {
                resource,
                kind: escrow::StreamKind::Storage,
                max_rate_per_second: 1,
                replicas: 1,
                deposit: 1_000_000,
                serve: escrow::ServePolicy::MinScore(0),
                allowed: Vec::new(),
                // The whole file: a stream for fewer bytes would not cover it.
                size_bytes: 1024 * 1024,
            })
            .unwrap()
    })
    .await;
    node.post_message(&fifth, true).await.unwrap();
    assert!(
        core.charge_round().await.unwrap().unwrap().is_empty(),
        "all covered"
    );

    // Half the balance goes: the two newest files are marked.
    let (c, other) = (client(&localnet, &keys[0]), keys[1].pubkey());
    blocking(move || c.transfer_tokens(&other, 2 * quarter).unwrap()).await;
    let changes = core.charge_round().await.unwrap().unwrap();
    let marked: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            StatusChange::Mark { item_hash, .. } => Some(item_hash.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(marked, [stores[3].0.as_str(), stores[2].0.as_str()]);
    assert_eq!(status(&node, &stores[3].0).await, MessageStatus::Removing);
    assert_eq!(status(&node, &stores[2].0).await, MessageStatus::Removing);
    assert_eq!(status(&node, &stores[1].0).await, MessageStatus::Processed);

    // A quarter comes back: the older of the two is lifted.
    let (c, dapp_key) = (client(&localnet, &keys[1]), keys[0].pubkey());
    blocking(move || c.transfer_tokens(&dapp_key, quarter).unwrap()).await;
    let changes = core.charge_round().await.unwrap().unwrap();
    assert_eq!(
        changes,
        vec![StatusChange::Restore {
            item_hash: stores[2].0.clone()
        }]
    );
    assert_eq!(status(&node, &stores[2].0).await, MessageStatus::Processed);

    // After the grace period the newest is collected, and its file deleted.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let changes = core.charge_round().await.unwrap().unwrap();
    assert_eq!(
        changes,
        vec![StatusChange::Collect {
            item_hash: stores[3].0.clone()
        }]
    );
    assert_eq!(status(&node, &stores[3].0).await, MessageStatus::Removed);
    let deleted = core.collect_garbage().await.unwrap();
    assert_eq!(deleted, vec![stores[3].1.clone()]);
    assert_eq!(raw(&core.url(), &stores[3].1).await, 404);
    // Nothing paid for was touched: three held files, the streamed file
    // and the streamed program.
    for (hash, file) in &stores[..3] {
        assert_eq!(status(&node, hash).await, MessageStatus::Processed);
        assert_eq!(raw(&core.url(), file).await, 200);
    }
    assert_eq!(
        status(&node, &fifth.message.item_hash).await,
        MessageStatus::Processed
    );
    assert_eq!(raw(&core.url(), &fifth_file).await, 200);
    assert_eq!(
        status(&node, &streamed_program.message.item_hash).await,
        MessageStatus::Processed
    );
    assert!(
        core.charge_round().await.unwrap().unwrap().is_empty(),
        "settled"
    );
    core.stop().await;
    localnet.stop();
}
