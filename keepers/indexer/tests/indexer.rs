//! The indexer against a real localnet: every event recorded once, derived
//! tables that match the chain's accounts, an endpoint that is down
//! skipped, a restart that resumes with no gap and no duplicate, and a
//! clear 400 or 404 for bad requests.

use std::time::Duration;

use aether_indexer::{Config, Indexer};
use aether_sdk::escrow_program::state::Stream;
use aether_sdk::indexer_client::{EventFilter, IndexerClient, StreamFilter};
use aether_sdk::programs::escrow;
use aether_testing::{blocking, chain_with_keys, client, free_port, TOKEN};
use solana_signer::Signer;

fn config(rpc_urls: Vec<String>, db: &std::path::Path) -> Config {
    let mut config = Config::new(rpc_urls, db);
    config.port = 0;
    config.poll_interval = Duration::from_millis(200);
    config.rest = Duration::from_secs(5);
    config
}

/// Waits until the indexer has read past the chain's current slot.
async fn caught_up(indexers: &IndexerClient, rpc_url: &str) {
    let rpc = solana_rpc_client::nonblocking::rpc_client::RpcClient::new_with_commitment(
        rpc_url.to_owned(),
        solana_commitment_config::CommitmentConfig::confirmed(),
    );
    let head = rpc.get_slot().await.unwrap();
    aether_testing::indexer_reaches("the indexer to reach the chain's head", indexers, head).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn follows_the_chain_through_a_dead_endpoint_and_a_restart() {
    let (localnet, _report, keys) = chain_with_keys(2).await;
    let rpc_url = localnet.rpc_url();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("indexer.sqlite");
    // The first endpoint has nothing listening.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let indexer = Indexer::start(config(vec![dead.clone(), rpc_url.clone()], &db))
        .await
        .unwrap();
    let indexers = IndexerClient::new([indexer.url()]).unwrap();

    let user = client(&localnet, &keys[0]);
    let resource_key = keys[1].insecure_clone();
    let resource = [7u8; 32];
    let (core, resource_record, stream) = blocking(move || {
        let (core, record) =
            aether_testing::register_nodes(&user, &resource_key, "http://node.test").unwrap();
        let stream =
            aether_testing::stream_activity(&user, resource, 5, 2, 1_000 * TOKEN, 20).unwrap();
        user.request_domain("app.example.test", resource).unwrap();
        (core, record, stream)
    })
    .await;
    caught_up(&indexers, &rpc_url).await;

    // Twenty top-ups, in order, each once, read in pages of 7.
    let mut amounts = Vec::new();
    let mut filter = EventFilter {
        name: Some("StreamToppedUp".into()),
        limit: Some(7),
        ..Default::default()
    };
    loop {
        let page = indexers.events(&filter).await.unwrap();
        assert!(page.items.len() <= 7);
        amounts.extend(
            page.items
                .iter()
                .map(|e| e.data["amount"].as_u64().unwrap()),
        );
        match page.next {
            Some(next) => filter.after = Some(next),
            None => break,
        }
    }
    assert_eq!(amounts, (1..=20).collect::<Vec<u64>>());

    // The derived stream matches the account on chain.
    let reader = client(&localnet, &keys[0]);
    let owner = keys[0].pubkey();
    let on_chain: Stream =
        blocking(move || reader.stream(&owner, &resource).unwrap().unwrap()).await;
    let indexed = indexers.stream(&stream.to_string()).await.unwrap();
    assert_eq!(indexed.deposited, on_chain.deposited);
    assert_eq!(indexed.deposited, 1_000 * TOKEN + 210);
    assert_eq!(indexed.paid_out, on_chain.paid_out);
    assert_eq!(indexed.resource, hex::encode(resource));
    assert_eq!(indexed.replicas, 2);
    let listed = indexers
        .streams(&StreamFilter {
            owner: Some(owner.to_string()),
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.items, vec![indexed.clone()]);

    // Nodes: the core node with its stake, the resource node under it.
    let nodes = indexers.nodes(None).await.unwrap();
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    let core_node = indexers.node(&core.to_string()).await.unwrap();
    assert_eq!(core_node.kind, "Core");
    assert_eq!(core_node.stake, 600_000 * TOKEN);
    assert_eq!(core_node.endpoint, "http://node.test");
    let res_node = indexers.node(&resource_record.to_string()).await.unwrap();
    assert_eq!(res_node.kind, "Resource");
    assert_eq!(res_node.parent.as_deref(), Some(core.to_string().as_str()));
    assert_eq!(
        res_node.stake,
        600_000 * TOKEN,
        "a resource node shows its parent's stake"
    );
    assert_eq!(res_node.capacity.vcpus, 4);
    assert_eq!(
        indexers.nodes(Some("Resource")).await.unwrap(),
        vec![res_node]
    );

    // The domain binding, pending until core nodes attest it.
    let domains = indexers.domains(Some("Pending")).await.unwrap();
    assert_eq!(domains.len(), 1);
    assert_eq!(
        (
            domains[0].domain.as_str(),
            domains[0].target.as_str(),
            domains[0].owner.clone()
        ),
        (
            "app.example.test",
            hex::encode(resource).as_str(),
            owner.to_string()
        )
    );
    assert!(indexers.domains(Some("Live")).await.unwrap().is_empty());

    // The dead endpoint is resting; the live one is not.
    let status = indexers.status().await.unwrap();
    let resting: Vec<(String, bool)> = status
        .endpoints
        .iter()
        .map(|e| (e.url.clone(), e.resting))
        .collect();
    assert_eq!(
        resting,
        vec![(dead.clone(), true), (rpc_url.clone(), false)]
    );

    // Bad requests are refused and say why; unknown items are 404.
    let http = reqwest::Client::new();
    for (path, code) in [
        ("/events?limit=0", 400),
        ("/events?limit=5000", 400),
        ("/events?after=garbage", 400),
        ("/nodes?kind=Cloud", 400),
        ("/domains?status=Maybe", 400),
        ("/streams/11111111111111111111111111111111", 404),
        ("/nodes/nothing", 404),
    ] {
        let r = http
            .get(format!("{}{path}", indexer.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), code, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["error"].is_string(), "{path}: {body}");
    }

    // /metrics shows the lag in slots.
    let metrics = http
        .get(format!("{}/metrics", indexer.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("aether_indexer_lag_slots "), "{metrics}");
    assert!(
        metrics.contains("aether_indexer_endpoints_resting 1"),
        "{metrics}"
    );

    // Stopped, the chain moves on; restarted, it reads the rest once.
    let events_before = indexers.status().await.unwrap().events;
    indexer.stop().await;
    let user = client(&localnet, &keys[0]);
    blocking(move || {
        for amount in [100, 200, 300] {
            user.top_up(&owner, &resource, amount).unwrap();
        }
    })
    .await;
    let indexer = Indexer::start(config(vec![rpc_url.clone()], &db))
        .await
        .unwrap();
    // A second indexer URL that is down: the SDK's reader falls back.
    let indexers =
        IndexerClient::new([format!("http://127.0.0.1:{}", free_port()), indexer.url()]).unwrap();
    caught_up(&indexers, &rpc_url).await;
    let status = indexers.status().await.unwrap();
    assert_eq!(status.events, events_before + 3);
    let indexed = indexers.stream(&stream.to_string()).await.unwrap();
    assert_eq!(indexed.deposited, 1_000 * TOKEN + 210 + 600);
    let topups = indexers
        .events(&EventFilter {
            name: Some("StreamToppedUp".into()),
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(topups.items.len(), 23);
    assert_eq!(escrow::stream(&owner, &resource), stream);
    indexer.stop().await;
    localnet.stop();
}
