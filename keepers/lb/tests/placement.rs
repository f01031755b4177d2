//! Placement by the load balancer, with three resource nodes whose
//! provisioners join streams only when asked (`on_demand`): the first
//! request for a program no node serves cold-starts it on one; requests
//! queueing past the bound bring a second; when one of the two dies
//! mid-traffic every request still succeeds, and the third node, asked
//! because the stream has a free slot, replaces it. Real parts: localnet,
//! a core node, provisioners with QEMU guests.

use std::time::Duration;

use aether_lb::LoadBalancer;
use aether_provisioner::Provisioner;
use aether_testing::keepers::{self, PaidStage};
use aether_testing::{blocking, client, vm, wait_until};
use solana_signer::Signer;

async fn get(url: String) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_load_balancer_cold_starts_scales_and_replaces() {
    let _vm = vm::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    // dApp, core operator, three resource node owners; the dApp's program
    // (160 MiB) paid by a stream of 30 a second for three replicas, with
    // 10,000,000 paid in; a provisioner for each node, joining on demand.
    let PaidStage {
        localnet,
        keys,
        core,
        hash,
        resource,
        provisioners,
        ..
    } = keepers::paid_providers(dir.path(), 5, 160, 3, 30, 10_000_000, true).await;
    let dapp_key = keys[0].pubkey();
    let mut provisioners: Vec<Option<Provisioner>> = provisioners.into_iter().map(Some).collect();
    let mut config = keepers::lb_config(core.url(), localnet.rpc_url());
    config.rest = Duration::from_secs(60);
    config.scale_inflight = 2;
    config.scale_latency = Duration::from_secs(600);
    config.place_cooldown = Duration::from_secs(1);
    let lb = LoadBalancer::start(config).await.unwrap();
    wait_until(
        "three nodes standing by",
        Duration::from_secs(60),
        || async { (lb.standby().len() == 3).then_some(()) },
    )
    .await;
    let providers = |n: usize| {
        let chain = client(&localnet, &keys[0]);
        async move {
            let stream =
                blocking(move || chain.stream(&dapp_key, &resource).unwrap().unwrap()).await;
            (stream.providers.len() == n).then_some(())
        }
    };
    let serving = |p: &Option<Provisioner>| p.as_ref().is_some_and(|p| !p.serving().is_empty());
    assert!(
        !provisioners.iter().any(serving),
        "on demand: nobody joined unasked"
    );

    // Cold start: nobody serves it; the request waits for a node to start it.
    let (status, body) = get(format!("{}/vm/{hash}/", lb.url())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "hello from the guest\n");
    assert_eq!(provisioners.iter().filter(|p| serving(p)).count(), 1);
    wait_until("one provider on chain", Duration::from_secs(30), || {
        providers(1)
    })
    .await;

    // Requests queue (4 slow ones on one node, bound 2): a second is asked.
    let slow: Vec<_> = (0..4)
        .map(|_| tokio::spawn(get(format!("{}/vm/{hash}/cgi-bin/slow", lb.url()))))
        .collect();
    for answer in slow {
        let (status, body) = answer.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    wait_until("a second node", Duration::from_secs(60), || async {
        (provisioners.iter().filter(|p| serving(p)).count() == 2).then_some(())
    })
    .await;
    wait_until("two providers on chain", Duration::from_secs(30), || {
        providers(2)
    })
    .await;
    assert!(
        lb.metrics()
            .placements
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 2
    );

    // One of the two dies mid-traffic; every request still succeeds.
    let traffic = {
        let url = format!("{}/vm/{hash}/", lb.url());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..20 {
                answers.push(get(url.clone()).await);
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            answers
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let victim = provisioners.iter().position(serving).unwrap();
    provisioners[victim].take().unwrap().stop().await;
    for (status, body) in traffic.await.unwrap() {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, "hello from the guest\n");
    }
    // The stream had a free slot: the third node replaces it.
    wait_until(
        "the third node to take the free slot",
        Duration::from_secs(60),
        || async { (provisioners.iter().filter(|p| serving(p)).count() == 2).then_some(()) },
    )
    .await;
    wait_until("three providers on chain", Duration::from_secs(30), || {
        providers(3)
    })
    .await;
    let mut answered = 0;
    for _ in 0..6 {
        let (status, _) = get(format!("{}/vm/{hash}/", lb.url())).await;
        answered += usize::from(status == 200);
    }
    assert_eq!(answered, 6);

    lb.stop().await;
    for p in provisioners.into_iter().flatten() {
        p.stop().await;
    }
    core.stop().await;
    localnet.stop();
}
