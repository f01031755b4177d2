//! `cargo bench -p aether-node`: signed Solana POSTs accepted and processed
//! per second over HTTP by concurrent clients, query latency with many
//! messages stored, memory after a hostile run, and the resync import rate.
//! Each rate is also given as a ratio to what the same machine does in the
//! same run without the node: batched ed25519 verifies of the same
//! messages on one core, and SQLite inserts of the same rows (WAL,
//! synchronous=FULL, 512 per transaction), so that another machine can
//! compare. `AETHER_BENCH_MESSAGES` (default 20,000) sets the burst,
//! `AETHER_BENCH_STORED` (default 100,000) how many are stored before
//! queries are timed, `AETHER_BENCH_CLIENTS` (default 64) the concurrency,
//! `AETHER_BENCH_HOSTILE` (default 35,000) the hostile requests per round.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aether_node::{Config, Node};
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{Message, MessageBuilder, PostBuilder};
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

/// Signed messages, as the bench posts them.
fn messages(n: usize, accounts: &[SolanaAccount], offset: usize) -> Vec<Message> {
    (0..n)
        .map(|i| {
            let account = &accounts[i % accounts.len()];
            MessageBuilder::new(account)
                .channel(if i % 2 == 0 { "BENCH-A" } else { "BENCH-B" })
                .build(
                    PostBuilder::new("bench")
                        .content(json!({ "i": i + offset, "text": "lorem ipsum dolor sit amet" })),
                )
                .unwrap()
                .message
        })
        .collect()
}

/// Pre-signed request bodies, so that the clients measure the node.
fn bodies(n: usize, accounts: &[SolanaAccount], offset: usize) -> Vec<String> {
    messages(n, accounts, offset)
        .into_iter()
        .map(|message| json!({ "sync": true, "message": message }).to_string())
        .collect()
}

/// Batched ed25519 verifies per second of `messages` on one core (the
/// node checks each post's signature; this is that work alone).
fn ed25519_rate(messages: &[Message]) -> f64 {
    let start = Instant::now();
    let mut done = 0usize;
    while start.elapsed() < Duration::from_secs(2) {
        for chunk in messages.chunks(256) {
            let results = aether_sdk::message::verify_batch(chunk);
            assert!(results.iter().all(Result::is_ok));
            done += chunk.len();
        }
    }
    done as f64 / start.elapsed().as_secs_f64()
}

/// SQLite inserts per second of `messages` as rows (hash, sender, channel,
/// time and the whole message), WAL and synchronous=FULL as the node,
/// 512 per transaction as its writer commits them.
fn sqlite_rate(messages: &[Message], dir: &std::path::Path) -> f64 {
    let mut conn = rusqlite::Connection::open(dir.join("baseline.sqlite")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch(
        "CREATE TABLE rows (item_hash TEXT PRIMARY KEY, sender TEXT NOT NULL, \
         channel TEXT, time REAL NOT NULL, record TEXT NOT NULL); \
         CREATE INDEX rows_sender ON rows (sender, time);",
    )
    .unwrap();
    let start = Instant::now();
    for chunk in messages.chunks(512) {
        let tx = conn.transaction().unwrap();
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO rows VALUES (?1, ?2, ?3, ?4, ?5)")
                .unwrap();
            for m in chunk {
                let record = serde_json::to_string(m).unwrap();
                insert
                    .execute(rusqlite::params![
                        m.item_hash,
                        m.sender,
                        m.channel,
                        m.time,
                        record
                    ])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    messages.len() as f64 / start.elapsed().as_secs_f64()
}

/// The machine's own rates, measured in this run.
struct Baseline {
    ed25519: f64,
    sqlite: f64,
}

impl Baseline {
    fn ratios(&self, rate: f64) -> String {
        format!(
            "{:.2}x ed25519, {:.2}x SQLite",
            rate / self.ed25519,
            rate / self.sqlite
        )
    }
}

/// One hostile request of a few kinds a stranger sends: bytes that are not
/// JSON, a message with a wrong signature, a copy of a message signed by
/// a stranger (kept as a rejected attempt), a storage claim on a hash no
/// one uploads (kept as a pending claim), a listing with a page number
/// far past any listing, and a read of an unknown hash.
fn hostile(i: usize, url: &str, victim: &SolanaAccount) -> (reqwest::Method, String, String) {
    let post = format!("{url}/api/v0/messages");
    let message = messages(1, std::slice::from_ref(victim), 20_000_000 + i).remove(0);
    match i % 6 {
        0 => (reqwest::Method::POST, post, format!("{{not json {i}")),
        1 => {
            let mut m = serde_json::to_value(&message).unwrap();
            let signature = m["signature"].as_str().unwrap().to_owned();
            let flipped = if signature.ends_with('1') { "2" } else { "1" };
            m["signature"] = json!(format!("{}{flipped}", &signature[..signature.len() - 1]));
            let body = json!({"sync": true, "message": m}).to_string();
            (reqwest::Method::POST, post, body)
        }
        2 | 3 => {
            let stranger = SolanaAccount::generate();
            let mut copy = message;
            copy.sender = aether_sdk::message::sign::Signer::address(&stranger);
            if i % 6 == 3 {
                copy.item_type = aether_sdk::message::ItemType::Storage;
                copy.item_content = None;
            }
            copy.signature = None;
            copy.signature = Some(aether_sdk::message::sign::Signer::sign_buffer(
                &stranger,
                &copy.verification_buffer(),
            ));
            let body = json!({"sync": true, "message": copy}).to_string();
            (reqwest::Method::POST, post, body)
        }
        4 => (
            reqwest::Method::GET,
            format!("{url}/api/v0/messages.json?page=1e300&pagination={i}"),
            String::new(),
        ),
        _ => (
            reqwest::Method::GET,
            format!("{url}/api/v0/messages/{:064x}", i),
            String::new(),
        ),
    }
}

/// Sends `n` hostile requests with `clients` connections; checks that
/// none got a 5xx.
async fn hostile_round(url: &str, n: usize, clients: usize, offset: usize) {
    let victim = SolanaAccount::generate();
    let requests: Vec<_> = (offset..offset + n)
        .map(|i| hostile(i, url, &victim))
        .collect();
    let queue = Arc::new(std::sync::Mutex::new(requests));
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, queue) = (http.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some((method, url, body)) = queue.lock().unwrap().pop() else {
                    return;
                };
                let response = http
                    .request(method, &url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(
                    response.status().as_u16() < 500,
                    "{url}: {}",
                    response.status()
                );
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
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
    let sample = self::messages(messages.min(20_000), &accounts, 50_000_000);
    let baseline = Baseline {
        ed25519: ed25519_rate(&sample),
        sqlite: sqlite_rate(&sample, dir.path()),
    };
    drop(sample);
    println!(
        "  this machine: {:>8.0} batched ed25519 verifies /s on one core, {:>8.0} SQLite inserts /s",
        baseline.ed25519, baseline.sqlite
    );
    let first = bodies(messages, &accounts, 0);
    let rate = burst(&url, first, clients).await;
    println!(
        "  signed POSTs accepted and processed: {rate:>8.0} /s  ({messages} messages; {})",
        baseline.ratios(rate)
    );
    let before = rss_mib();
    let hostile = env("AETHER_BENCH_HOSTILE", 35_000);
    hostile_round(&url, hostile, clients, 0).await;
    let once = rss_mib();
    hostile_round(&url, hostile, clients, hostile).await;
    println!(
        "  memory of the process (node and clients): {before:.0} MiB, then {once:.0} MiB after {hostile} hostile requests, {:.0} MiB after {}",
        rss_mib(),
        2 * hostile
    );

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
    resync_rate(
        env("AETHER_BENCH_RESYNC", 20_000),
        clients,
        &accounts,
        &baseline,
    )
    .await;
}

/// Messages imported per second by a node resyncing from the chain and a
/// peer (localnet in this process, batches of up to 10,000).
async fn resync_rate(
    messages: usize,
    clients: usize,
    accounts: &[SolanaAccount],
    baseline: &Baseline,
) {
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
        "  resync: {} messages in {} batches imported at {rate:.0} /s ({})",
        report.imported,
        report.batches,
        baseline.ratios(rate)
    );
    b.stop().await;
    a.stop().await;
    localnet.stop();
}
