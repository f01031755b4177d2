//! `cargo bench -p aether-node`: signed Solana POSTs accepted and processed
//! per second over HTTP by concurrent clients, and query latency with many
//! messages stored. `AETHER_BENCH_MESSAGES` (default 20,000) sets the burst,
//! `AETHER_BENCH_STORED` (default 100,000) how many are stored before
//! queries are timed, `AETHER_BENCH_CLIENTS` (default 64) the concurrency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aether_node::{Config, Node};
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{MessageBuilder, PostBuilder};
use serde_json::json;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Pre-signed request bodies, so that the clients measure the node.
fn bodies(n: usize, accounts: &[SolanaAccount], offset: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let account = &accounts[i % accounts.len()];
            let signed = MessageBuilder::new(account)
                .channel(if i % 2 == 0 { "BENCH-A" } else { "BENCH-B" })
                .build(
                    PostBuilder::new("bench")
                        .content(json!({ "i": i + offset, "text": "lorem ipsum dolor sit amet" })),
                )
                .unwrap();
            json!({ "sync": true, "message": signed.message }).to_string()
        })
        .collect()
}

/// Posts every body with `clients` concurrent connections; returns messages per second.
async fn burst(url: &str, bodies: Vec<String>, clients: usize) -> f64 {
    let http = reqwest::Client::new();
    let queue = Arc::new(std::sync::Mutex::new(bodies));
    let total = queue.lock().unwrap().len();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, queue, url) = (
            http.clone(),
            queue.clone(),
            format!("{url}/api/v0/messages"),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(body) = queue.lock().unwrap().pop() else {
                    return;
                };
                let response = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status().as_u16(), 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    total as f64 / start.elapsed().as_secs_f64()
}

async fn latencies(http: &reqwest::Client, urls: &[String]) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(urls.len());
    for url in urls {
        let start = Instant::now();
        let response = http.get(url).send().await.unwrap();
        assert!(response.status().is_success());
        response.bytes().await.unwrap();
        times.push(start.elapsed());
    }
    times.sort();
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

#[tokio::main]
async fn main() {
    let messages = env("AETHER_BENCH_MESSAGES", 20_000);
    let stored = env("AETHER_BENCH_STORED", 100_000).max(messages);
    let clients = env("AETHER_BENCH_CLIENTS", 64);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.port = 0;
    let node = Node::start(config).await.unwrap();
    let url = node.url();
    println!("aether-node benchmark ({clients} concurrent clients, HTTP on loopback, one process)");

    let accounts: Vec<SolanaAccount> = (0..100).map(|_| SolanaAccount::generate()).collect();
    let first = bodies(messages, &accounts, 0);
    let rate = burst(&url, first, clients).await;
    println!("  signed POSTs accepted and processed: {rate:>8.0} /s  ({messages} messages)");

    // Fill up to `stored`, then time queries.
    let mut done = messages;
    while done < stored {
        let n = (stored - done).min(50_000);
        burst(&url, bodies(n, &accounts, done), clients).await;
        done += n;
    }
    let http = reqwest::Client::new();
    let sender = MessageBuilder::new(&accounts[7])
        .build(PostBuilder::new("probe"))
        .unwrap();
    let probe = sender.message.item_hash.clone();
    burst(
        &url,
        vec![json!({"sync": true, "message": sender.message}).to_string()],
        1,
    )
    .await;
    let lists: Vec<String> = (0..200)
        .map(|i| {
            let address = aether_sdk::message::sign::Signer::address(&accounts[i % accounts.len()]);
            format!("{url}/api/v0/messages.json?addresses={address}&channels=BENCH-A&pagination=20&page={}", 1 + i % 5)
        })
        .collect();
    let (p50, p99) = latencies(&http, &lists).await;
    println!("  messages.json by sender and channel, at {stored} stored: p50 {p50:?}  p99 {p99:?}");
    let gets: Vec<String> = (0..200)
        .map(|_| format!("{url}/api/v0/messages/{probe}"))
        .collect();
    let (p50, p99) = latencies(&http, &gets).await;
    println!("  one message by hash, at {stored} stored:               p50 {p50:?}  p99 {p99:?}");
    println!(
        "  memory of the process (node and clients): {:.0} MiB",
        rss_mib()
    );
    node.stop().await;
    resync_rate(env("AETHER_BENCH_RESYNC", 20_000), clients, &accounts).await;
}

/// Messages imported per second by a node resyncing from the chain and a
/// peer (localnet in this process, batches of up to 10,000).
async fn resync_rate(messages: usize, clients: usize, accounts: &[SolanaAccount]) {
    let chain = aether_localnet::Config {
        rpc_port: aether_localnet::free_port_pair().expect("a free port pair"),
        slot_ms: 100,
        bootstrap: true,
        ..aether_localnet::Config::default()
    };
    let localnet = aether_localnet::Localnet::start(chain).await.unwrap();
    let report = aether_localnet::bootstrap(localnet.config(), &localnet.key_dir())
        .await
        .unwrap();
    let a_dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(a_dir.path());
    config.port = 0;
    config.anchoring = Some(aether_node::anchoring::AnchorConfig {
        rpc_url: localnet.rpc_url(),
        keypair: report.authority_keypair.clone(),
        interval: Duration::from_millis(500),
        max_messages: 10_000,
    });
    let a = Node::start(config).await.unwrap();
    let posted = bodies(messages, accounts, 10_000_000);
    let hashes: Vec<String> = posted
        .iter()
        .map(|b| {
            serde_json::from_str::<serde_json::Value>(b).unwrap()["message"]["item_hash"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    burst(&a.url(), posted, clients).await;
    // Wait until every message is anchored.
    let client = aether_sdk::node_client::NodeClient::new(a.url());
    for hash in &hashes {
        while client.proof(hash).await.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let b_dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(b_dir.path());
    config.port = 0;
    config.peers = vec![a.url()];
    config.resync = Some(aether_node::resync::ResyncConfig {
        rpc_url: localnet.rpc_url(),
        retries: 0,
        progress: None,
    });
    let start = Instant::now();
    let mut b = Node::start(config).await.unwrap();
    let report = b.resync_report().await.unwrap().unwrap();
    let rate = report.imported as f64 / start.elapsed().as_secs_f64();
    println!(
        "  resync: {} messages in {} batches imported at {rate:.0} /s",
        report.imported, report.batches
    );
    b.stop().await;
    a.stop().await;
    localnet.stop();
}
