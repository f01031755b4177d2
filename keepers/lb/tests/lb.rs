//! The load balancer in front of two resource nodes (provisioners with
//! their own QEMU guests) serving one paid program: requests go through
//! it; a forged announcement is ignored; a node whose router no longer
//! serves it is passed over; when one node dies mid-traffic, every request
//! still succeeds through the other; a POST a VM died on is not sent twice.

use std::time::Duration;

use aether_lb::LoadBalancer;
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{MessageBuilder, PostBuilder};
use aether_testing::keepers::{self, PaidStage};
use aether_testing::{vm, wait_until};
use solana_signer::Signer;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_survive_a_node_dying_behind_the_load_balancer() {
    let _vm = vm::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    // dApp, core operator, two resource node owners; the dApp's program
    // (192 MiB) paid by a stream of 10 a second for two replicas, with
    // 1,000,000 paid in; a provisioner for each node, joining unasked.
    let PaidStage {
        localnet,
        core,
        node,
        hash,
        ids,
        mut provisioners,
        ..
    } = keepers::paid_providers(dir.path(), 4, 192, 2, 10, 1_000_000, false).await;
    let id_a = &ids[0];

    // A stranger announces that it serves the program on node A's record.
    let stranger = SolanaAccount::generate();
    let forged = MessageBuilder::new(&stranger)
        .build(
            PostBuilder::new("aether-serving").content(serde_json::json!({
                "node": aether_sdk::programs::registry::record(&id_a.pubkey()).to_string(),
                "endpoint": "http://127.0.0.1:9",
                "programs": [hash],
            })),
        )
        .unwrap();
    node.post_message(&forged, true).await.unwrap();

    let mut config = keepers::lb_config(core.url(), localnet.rpc_url());
    config.rest = Duration::from_secs(60);
    let lb = LoadBalancer::start(config).await.unwrap();
    let targets = wait_until("both nodes routed", Duration::from_secs(90), || async {
        let t = lb.targets(&hash);
        (t.len() == 2).then_some(t)
    })
    .await;
    let hosts: Vec<String> = provisioners.iter().map(|p| p.host_url()).collect();
    for t in &targets {
        assert!(
            hosts.contains(&t.endpoint),
            "only announced, owned endpoints: {t:?}"
        );
    }
    assert!(
        lb.metrics()
            .forged
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );

    let http = reqwest::Client::new();
    let get = move |url: String| {
        let http = http.clone();
        async move {
            let r = http
                .get(url)
                .timeout(Duration::from_secs(90))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // Warm both (each boots its guest), then kill one mid-traffic.
    for _ in 0..4 {
        let (status, body) = get(format!("{}/vm/{hash}/", lb.url())).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("hello from the guest"));
    }
    // Both nodes took a share.
    for host in &hosts {
        let (_, usage) = get(format!("{host}/about/usage")).await;
        let usage: serde_json::Value = serde_json::from_str(&usage).unwrap();
        let served: u64 = usage["vms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["requests"].as_u64().unwrap())
            .sum();
        assert!(served > 0, "{host} served nothing: {usage}");
    }
    // Node A's router forgets the program while A still announces it: its
    // 404 `unknown_program` (no VM saw the request) is passed over, never
    // passed on.
    let retries = || {
        lb.metrics()
            .retries
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let supervisor = provisioners[0].supervisor().await.unwrap();
    supervisor.unregister(&hash).await;
    for _ in 0..4 {
        let (status, body) = get(format!("{}/vm/{hash}/", lb.url())).await;
        assert_eq!(status, 200, "{body}");
    }
    assert!(retries() >= 1, "node A was asked and passed over");
    let retried = retries();
    let traffic = {
        let (url, get) = (format!("{}/vm/{hash}/", lb.url()), get.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..20 {
                answers.push(get(url.clone()).await);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            answers
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    provisioners.remove(0).stop().await;
    let answers = traffic.await.unwrap();
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert!(body.contains("hello from the guest"), "{body}");
    }
    // Requests that reached the dead node went on to the other.
    assert!(retries() > retried);
    // A POST the program may have acted on is never sent to a second node:
    // the VM of the node left dies on it, and the client is told so.
    let before = retries();
    let crashed = reqwest::Client::new()
        .post(format!("{}/vm/{hash}/cgi-bin/crash", lb.url()))
        .body("once")
        .timeout(Duration::from_secs(90))
        .send()
        .await
        .unwrap();
    assert_eq!(crashed.status(), 502);
    let text = crashed.text().await.unwrap();
    assert!(text.contains("not sent again"), "{text}");
    assert_eq!(retries(), before);
    // An unknown program is a clear 503; a bad path a 404.
    let (status, body) = get(format!("{}/vm/{}/", lb.url(), "ab".repeat(32))).await;
    assert_eq!(status, 503, "{body}");
    let (status, _) = get(format!("{}/elsewhere", lb.url())).await;
    assert_eq!(status, 404);

    lb.stop().await;
    for p in provisioners {
        p.stop().await;
    }
    core.stop().await;
    localnet.stop();
}
