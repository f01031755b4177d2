//! `cargo bench -p aether-indexer`: how fast the indexer reads a backlog
//! (events per second from an empty database), and how far it trails the
//! chain while transactions land at a steady rate (lag in slots).
//!
//! Both run against a real localnet (100 ms slots) on this machine; the
//! figures are for comparing runs, not absolute.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aether_indexer::{Config, Indexer};
use aether_sdk::indexer_client::IndexerClient;
use aether_testing::{chain_with_keys, client, TOKEN};

const SENDERS: usize = 4;
const BACKLOG_PER_SENDER: u64 = 100;
const STEADY_RATE: u64 = 8;
const STEADY_SECS: u64 = 20;

fn main() {
    aether_testing::block_on(bench());
}

async fn bench() {
    let (localnet, _report, keys) = chain_with_keys(SENDERS).await;
    let rpc_url = localnet.rpc_url();
    // Each sender opens a stream, then tops it up: one event per transaction.
    let clients: Vec<_> = keys
        .iter()
        .map(|k| Arc::new(client(&localnet, k)))
        .collect();
    let started = Instant::now();
    let handles: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let c = c.clone();
            std::thread::spawn(move || {
                aether_testing::stream_activity(
                    &c,
                    [i as u8 + 1; 32],
                    1,
                    1,
                    1_000 * TOKEN,
                    BACKLOG_PER_SENDER,
                )
                .unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let backlog_tx = SENDERS as u64 * (BACKLOG_PER_SENDER + 1);
    println!(
        "backlog: {backlog_tx} transactions sent in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(vec![rpc_url.clone()], dir.path().join("bench.sqlite"));
    config.port = 0;
    config.poll_interval = Duration::from_millis(100);
    let started = Instant::now();
    let indexer = Indexer::start(config).await.unwrap();
    let reader = IndexerClient::new([indexer.url()]).unwrap();
    let rpc = solana_rpc_client::nonblocking::rpc_client::RpcClient::new(rpc_url.clone());
    let head = rpc.get_slot().await.unwrap();
    loop {
        let status = reader.status().await.unwrap();
        if status.synced_slot >= head {
            let secs = started.elapsed().as_secs_f64();
            println!(
                "catch-up: {} events in {secs:.2} s = {:.0} events/s",
                status.events,
                status.events as f64 / secs
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Steady traffic: STEADY_RATE top-ups a second across the senders.
    let running = Arc::new(AtomicBool::new(true));
    let sent = Arc::new(AtomicU64::new(0));
    let per_sender = Duration::from_secs_f64(SENDERS as f64 / STEADY_RATE as f64);
    let handles: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (c, running, sent) = (c.clone(), running.clone(), sent.clone());
            std::thread::spawn(move || {
                let owner = c.payer();
                while running.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    c.top_up(&owner, &[i as u8 + 1; 32], 1).unwrap();
                    sent.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(per_sender.saturating_sub(t.elapsed()));
                }
            })
        })
        .collect();
    let mut lags = Vec::new();
    let until = Instant::now() + Duration::from_secs(STEADY_SECS);
    while Instant::now() < until {
        let head = rpc.get_slot().await.unwrap();
        let status = reader.status().await.unwrap();
        lags.push(head.saturating_sub(status.synced_slot));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    running.store(false, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    lags.sort_unstable();
    let pct = |p: f64| lags[((lags.len() - 1) as f64 * p) as usize];
    println!(
        "steady: {} transactions in {STEADY_SECS} s ({:.1}/s); lag behind the head p50 {} slots, p99 {} slots, max {} (slot = 100 ms)",
        sent.load(Ordering::Relaxed),
        sent.load(Ordering::Relaxed) as f64 / STEADY_SECS as f64,
        pct(0.5),
        pct(0.99),
        lags.last().unwrap()
    );
    indexer.stop().await;
    localnet.stop();
}
