//! `cargo bench -p aether-node --bench charging`: how long pricing what one
//! address holds takes (charging does it for every costed post of that
//! address, and for each address each round), for an address holding
//! `AETHER_BENCH_HELD` STOREs (default 20,000). The node runs for real
//! over HTTP and SQLite; the chain is not needed to price.

use std::time::Instant;

use aether_node::charging::{holdings, Costs, Paid, Prices};
use aether_node::{Config, Node};
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{MessageBuilder, StoreBuilder};
use aether_sdk::node_client::{NodeClient, StorageEngine};
use futures_util::StreamExt;

#[tokio::main]
async fn main() {
    let held: usize = std::env::var("AETHER_BENCH_HELD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path().join("node"));
    config.port = 0;
    let node = Node::start(config).await.unwrap();
    let client = NodeClient::new(node.url());
    let account = SolanaAccount::generate();
    let address = aether_sdk::message::sign::Signer::address(&account);
    let file = dir.path().join("file");
    std::fs::write(&file, vec![7u8; 1 << 20]).unwrap();
    let hash = client
        .upload_file(&file, StorageEngine::Storage, |_, _| {})
        .await
        .unwrap();

    let start = Instant::now();
    let messages: Vec<_> = (0..held)
        .map(|_| {
            MessageBuilder::new(&account)
                .build(StoreBuilder::new(hash.clone()).unwrap())
                .unwrap()
        })
        .collect();
    futures_util::stream::iter(messages)
        .map(|m| {
            let client = client.clone();
            async move { client.post_message(&m, true).await.unwrap() }
        })
        .buffer_unordered(16)
        .count()
        .await;
    println!(
        "stored {held} STOREs of one address in {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let db = rusqlite::Connection::open(dir.path().join("node/node.sqlite")).unwrap();
    // Cold: every message read and priced (a node's first pricing of the
    // address). Warm: prices kept from the pricing before (every later
    // post and round).
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let prices = Prices::default();
        for times in [&mut cold, &mut warm] {
            let start = Instant::now();
            let list =
                holdings(&db, &Costs::default(), &prices, &address, &Paid::default()).unwrap();
            times.push(start.elapsed().as_secs_f64());
            assert_eq!(list.len(), held);
            assert!(list
                .iter()
                .all(|h| h.cost == Costs::default().per_mib_stored));
        }
    }
    for (name, times) in [("cold", &mut cold), ("warm", &mut warm)] {
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "pricing {held} held messages, {name}: median {:.1} ms ({:.2} µs each)",
            median * 1000.0,
            median * 1e6 / held as f64,
        );
    }
    node.stop().await;
}
