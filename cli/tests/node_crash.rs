//! `aether node run` killed with SIGKILL in the middle of a burst of
//! messages, then restarted on the same data: every message it
//! acknowledged is there, and none twice.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{MessageBuilder, PostBuilder};
use aether_sdk::node_client::{MessageFilter, MessageStatus, NodeClient};
use aether_testing::free_port;
use serde_json::json;

fn spawn_node(port: u16, data: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_aether"))
        .args([
            "node",
            "run",
            "--port",
            &port.to_string(),
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aether node run starts")
}

async fn wait_ready(client: &NodeClient) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .messages(&MessageFilter::default(), 1, 1)
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the node did not answer within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_messages_survive_sigkill() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut node = spawn_node(port, data.path());
    let client = NodeClient::new(format!("http://127.0.0.1:{port}"));
    wait_ready(&client).await;

    let account = Arc::new(SolanaAccount::generate());
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let sent = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut senders = Vec::new();
    for worker in 0..8 {
        let (client, account, acked, sent) =
            (client.clone(), account.clone(), acked.clone(), sent.clone());
        senders.push(tokio::spawn(async move {
            for i in 0.. {
                let signed = MessageBuilder::new(account.as_ref())
                    .build(PostBuilder::new("burst").content(json!({ "worker": worker, "i": i })))
                    .unwrap();
                sent.lock().unwrap().push(signed.message.item_hash.clone());
                match client.post_message(&signed, true).await {
                    Ok(MessageStatus::Processed) => {
                        acked.lock().unwrap().push(signed.message.item_hash)
                    }
                    Ok(other) => panic!("unexpected status {other:?}"),
                    Err(_) => return, // the node is gone
                }
            }
        }));
    }
    // Let the burst run, then kill the node mid-flight.
    while acked.lock().unwrap().len() < 300 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    node.kill().unwrap(); // SIGKILL
    node.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let sent = sent.lock().unwrap().clone();
    assert!(sent.len() > acked.len(), "some were in flight when it died");

    let mut node = spawn_node(port, data.path());
    wait_ready(&client).await;
    for hash in &acked {
        let got = client.message(hash).await.unwrap();
        assert_eq!(
            got.status,
            MessageStatus::Processed,
            "{hash} was acknowledged"
        );
    }
    // None twice, and nothing that was never sent.
    let all = client
        .messages(&MessageFilter::default(), 1, 0)
        .await
        .unwrap();
    let mut hashes: Vec<_> = all.messages.iter().map(|m| m.item_hash.clone()).collect();
    assert_eq!(hashes.len() as u64, all.pagination_total);
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len() as u64, all.pagination_total);
    assert!(hashes.iter().all(|h| sent.contains(h)));
    assert!(hashes.len() >= acked.len());
    node.kill().unwrap();
    node.wait().unwrap();
}
