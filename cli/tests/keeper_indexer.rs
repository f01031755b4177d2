//! `aether keeper indexer` killed with SIGKILL while transactions keep
//! landing, then restarted on the same database: its tables end up the
//! same as those of an indexer that never stopped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aether_sdk::indexer_client::IndexerClient;
use aether_testing::{blocking, chain_with_keys, client, free_port, wait_until, TOKEN};

fn spawn_indexer(rpc_url: &str, port: u16, db: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_aether"))
        .args([
            "keeper",
            "indexer",
            "--rpc-url",
            rpc_url,
            "--port",
            &port.to_string(),
            "--db",
            db.to_str().unwrap(),
            "--poll-ms",
            "100",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aether keeper indexer starts")
}

/// Every table, every row, in a fixed order, as text.
fn dump(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut out = Vec::new();
    for (table, order) in [
        ("events", "slot, signature, idx"),
        ("cursors", "program"),
        ("staking_nodes", "node"),
        ("nodes", "record"),
        ("score_reports", "record, epoch, reporter"),
        ("streams", "stream"),
        ("stream_providers", "stream, position"),
        ("batches", "seq"),
        ("domains", "binding"),
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))
            .unwrap();
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let values: Vec<String> = (0..columns)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                Ok(format!("{table}: {}", values.join(" | ")))
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_indexer_resumes_with_no_gap_and_no_duplicate() {
    let (localnet, _report, keys) = chain_with_keys(2).await;
    let rpc_url = localnet.rpc_url();
    let dir = tempfile::tempdir().unwrap();

    // The reference: an indexer in this process that never stops.
    let steady_db = dir.path().join("steady.sqlite");
    let mut config = aether_indexer::Config::new(vec![rpc_url.clone()], &steady_db);
    config.port = 0;
    config.poll_interval = Duration::from_millis(100);
    let steady = aether_indexer::Indexer::start(config).await.unwrap();

    let killed_db = dir.path().join("killed.sqlite");
    let port = free_port();
    let mut child = spawn_indexer(&rpc_url, port, &killed_db);
    let killed = IndexerClient::new([format!("http://127.0.0.1:{port}")]).unwrap();

    // Transactions keep landing while the indexer dies and comes back.
    let user = client(&localnet, &keys[0]);
    let node_key = keys[1].insecure_clone();
    let workload = tokio::task::spawn_blocking(move || {
        aether_testing::register_nodes(&user, &node_key, "http://node.test").unwrap();
        aether_testing::stream_activity(&user, [9; 32], 3, 2, 500 * TOKEN, 40).unwrap();
    });
    wait_until(
        "the indexer to record some events",
        Duration::from_secs(60),
        || async {
            let status = killed.status().await.ok()?;
            (status.events >= 10).then_some(())
        },
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    let recorded_when_killed = {
        let conn = rusqlite::Connection::open(&killed_db).unwrap();
        conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut child = spawn_indexer(&rpc_url, port, &killed_db);
    workload.await.unwrap();

    let head = blocking({
        let rpc_url = rpc_url.clone();
        move || {
            solana_rpc_client::rpc_client::RpcClient::new_with_commitment(
                rpc_url,
                solana_commitment_config::CommitmentConfig::confirmed(),
            )
            .get_slot()
            .unwrap()
        }
    })
    .await;
    let steady_client = IndexerClient::new([steady.url()]).unwrap();
    for indexer in [&killed, &steady_client] {
        aether_testing::indexer_reaches("both indexers to reach the head", indexer, head).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    steady.stop().await;

    let (a, b) = (dump(&killed_db), dump(&steady_db));
    let events = a.iter().filter(|r| r.starts_with("events:")).count();
    // Stake, core and resource registration, open, 40 top-ups, at least.
    assert!(events >= 44, "{events} events");
    assert!(
        (recorded_when_killed as usize) < events,
        "the kill came before the end ({recorded_when_killed} of {events})"
    );
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    localnet.stop();
}
