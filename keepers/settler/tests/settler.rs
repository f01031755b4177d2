//! The settler against a real localnet: two providers share a stream; as
//! the chain's clock moves, each is paid its share to the base unit; the
//! stream runs dry and is marked exhausted; nothing is sent when nothing
//! is due.

use std::sync::atomic::Ordering;
use std::time::Duration;

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::escrow_program::state::Stream;
use aether_sdk::programs::client::AetherClient;
use aether_settler::{Config, Settler};
use aether_testing::{blocking, chain_with_keys, client, wait_until};
use solana_keypair::Keypair;
use solana_signer::Signer;

async fn balance(rpc_url: &str, account: &str) -> u64 {
    let rpc = solana_rpc_client::nonblocking::rpc_client::RpcClient::new_with_commitment(
        rpc_url.to_owned(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    rpc.get_token_account_balance(&account.parse().unwrap())
        .await
        .unwrap()
        .amount
        .parse()
        .unwrap()
}

async fn stream_of(c: &std::sync::Arc<AetherClient>, owner: Pubkey, resource: [u8; 32]) -> Stream {
    let c = c.clone();
    blocking(move || c.stream(&owner, &resource).unwrap().unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pays_two_providers_their_share_until_the_stream_runs_dry() {
    // dApp, core operator, provider A's owner, provider B's owner,
    // A's and B's node identities, the settler's fee payer.
    let (localnet, report, keys) = chain_with_keys(7).await;
    let rpc_url = localnet.rpc_url();
    let resource = [42u8; 32];
    let dapp = keys[0].pubkey();
    let (owner_a, owner_b) = (keys[2].pubkey(), keys[3].pubkey());
    let payout = |key: Pubkey| {
        report
            .funded
            .iter()
            .find(|f| f.address == key.to_string())
            .unwrap()
            .token_account
            .clone()
    };
    let (payout_a, payout_b) = (payout(owner_a), payout(owner_b));
    let reader = std::sync::Arc::new(client(&localnet, &keys[0]));
    {
        let dapp_client = client(&localnet, &keys[0]);
        let core_client = client(&localnet, &keys[1]);
        let a_client = client(&localnet, &keys[2]);
        let b_client = client(&localnet, &keys[3]);
        let (id_a, id_b) = (keys[4].insecure_clone(), keys[5].insecure_clone());
        let operator = keys[1].insecure_clone();
        blocking(move || {
            let core_key = Keypair::new();
            aether_testing::register_nodes(&core_client, &core_key, "http://core.test").unwrap();
            let consent = Some(&operator);
            aether_testing::register_resource(&a_client, &id_a, consent, "http://a.test").unwrap();
            aether_testing::register_resource(&b_client, &id_b, consent, "http://b.test").unwrap();
            // 10 base units a second for two replicas: 5 each.
            let stream =
                aether_testing::stream_activity(&dapp_client, resource, 10, 2, 1_000_000, 0)
                    .unwrap();
            // Both join at once: the one whose read of the providers went
            // stale reads again and retries.
            std::thread::scope(|s| {
                let a = s.spawn(|| a_client.join_stream(&id_a.pubkey(), &stream));
                let b = s.spawn(|| b_client.join_stream(&id_b.pubkey(), &stream));
                a.join().unwrap().unwrap();
                b.join().unwrap().unwrap();
            });
        })
        .await;
    }
    let start = stream_of(&reader, dapp, resource).await;
    assert_eq!(start.providers.len(), 2);
    let (a0, b0) = (
        balance(&rpc_url, &payout_a).await,
        balance(&rpc_url, &payout_b).await,
    );

    let dir = tempfile::tempdir().unwrap();
    let fee_payer = dir.path().join("settler.json");
    solana_keypair::write_keypair_file(&keys[6], &fee_payer).unwrap();
    let mut config = Config::new(
        rpc_url.clone(),
        &fee_payer,
        dir.path().join("settler.sqlite"),
    );
    config.port = 0;
    config.interval = Duration::from_millis(200);
    // 100 s of accrual at 10/s.
    config.threshold = 1_000;
    let settler = Settler::start(config).await.unwrap();

    // Nothing is due yet: no transaction, no fee.
    wait_until("three rounds", Duration::from_secs(30), || async {
        (settler.metrics().rounds.load(Ordering::Relaxed) >= 3).then_some(())
    })
    .await;
    assert_eq!(settler.metrics().transactions.load(Ordering::Relaxed), 0);

    // 1,000 s pass: each provider is paid 5 a second since the last settlement.
    let now = aether_testing::chain_time(&reader).await;
    localnet.time_travel(now + 1_000).await.unwrap();
    let settled = wait_until("a settlement", Duration::from_secs(30), || {
        let reader = reader.clone();
        async move {
            let s = stream_of(&reader, dapp, resource).await;
            (s.last_settled > start.last_settled).then_some(s)
        }
    })
    .await;
    let elapsed = (settled.last_settled - start.last_settled) as u64;
    assert!(elapsed >= 1_000, "{elapsed}");
    for (i, slot) in settled.providers.iter().enumerate() {
        assert_eq!(
            slot.paid - start.providers[i].paid,
            5 * elapsed,
            "provider {i}"
        );
    }
    assert_eq!(balance(&rpc_url, &payout_a).await - a0, 5 * elapsed);
    assert_eq!(balance(&rpc_url, &payout_b).await - b0, 5 * elapsed);

    // A long time passes: the vault cannot pay it all; what is left is
    // split to the base unit and the stream is exhausted.
    localnet.time_travel(now + 1_000_000).await.unwrap();
    let dry = wait_until("the stream to run dry", Duration::from_secs(30), || {
        let reader = reader.clone();
        async move {
            let s = stream_of(&reader, dapp, resource).await;
            s.exhausted.then_some(s)
        }
    })
    .await;
    let left = 1_000_000 - start.paid_out;
    assert_eq!(dry.paid_out, 1_000_000, "every deposited unit is paid");
    assert_eq!(balance(&rpc_url, &payout_a).await - a0, left / 2);
    assert_eq!(balance(&rpc_url, &payout_b).await - b0, left / 2);

    // What the settler logged is what the providers received.
    wait_until(
        "the settler to log the last settlement",
        Duration::from_secs(30),
        || async { (settler.metrics().exhausted.load(Ordering::Relaxed) == 1).then_some(()) },
    )
    .await;
    let http = reqwest::Client::new();
    let log: Vec<serde_json::Value> = http
        .get(format!("{}/settlements", settler.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let logged: Vec<u64> = (0..2)
        .map(|i| log.iter().map(|s| s["paid"][i].as_u64().unwrap()).sum())
        .collect();
    assert_eq!(logged, vec![left / 2, left / 2]);
    assert_eq!(log.last().unwrap()["exhausted"], true);
    assert_eq!(
        settler.metrics().paid.load(Ordering::Relaxed),
        left,
        "reported paid"
    );

    // An exhausted stream is never settled again.
    let sent = settler.metrics().transactions.load(Ordering::Relaxed);
    let rounds = settler.metrics().rounds.load(Ordering::Relaxed);
    wait_until("three more rounds", Duration::from_secs(30), || async {
        (settler.metrics().rounds.load(Ordering::Relaxed) >= rounds + 3).then_some(())
    })
    .await;
    assert_eq!(settler.metrics().transactions.load(Ordering::Relaxed), sent);
    assert_eq!(
        settler
            .metrics()
            .failed_transactions
            .load(Ordering::Relaxed),
        0
    );
    let metrics = http
        .get(format!("{}/metrics", settler.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!("aether_settler_paid_base_units_total {left}")),
        "{metrics}"
    );
    settler.stop().await;
    localnet.stop();
}
