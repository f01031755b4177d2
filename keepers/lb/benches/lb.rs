//! `cargo bench -p aether-lb`: requests through the load balancer to a
//! warm VM (one client: p50/p99; eight clients: requests per second), the
//! same straight to the node for comparison, and two cold starts through
//! it: of a program no node serves yet (the load balancer asks the node,
//! which joins the stream on chain, then boots the VM), and of one the
//! node serves but has no VM for (boot only).
//! The VM is a QEMU guest under software emulation here: compare the two
//! paths as a ratio, not the absolute figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aether_testing::keepers::{self, Stage};
use aether_testing::{vm, wait_until};

fn main() {
    aether_testing::block_on(bench());
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

async fn one_client(http: &reqwest::Client, url: &str, n: usize) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = http.get(url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

async fn many_clients(http: &reqwest::Client, url: &str, clients: usize, secs: u64) -> f64 {
    let until = Instant::now() + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (http, url) = (http.clone(), url.to_owned());
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < until {
                    let r = http.get(&url).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    r.bytes().await.unwrap();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / secs as f64
}

async fn bench() {
    let dir = tempfile::tempdir().unwrap();
    let Stage {
        localnet,
        keys,
        core,
        node,
        dapp,
    } = keepers::stage(3, dir.path()).await;
    let (_, hash) = vm::post_program(&node, &dapp, dir.path(), 192).await;
    let resource = aether_testing::resource_of(&hash);
    let second_dir = dir.path().join("second");
    std::fs::create_dir_all(&second_dir).unwrap();
    let (_, second) = vm::post_program(&node, &dapp, &second_dir, 160).await;
    let second_resource = aether_testing::resource_of(&second);
    let mut config = keepers::paid_provider_config(
        &localnet,
        &keys,
        &core,
        dir.path(),
        [resource, second_resource]
            .into_iter()
            .map(|r| aether_testing::compute_stream(r, 10, 1, 1_000_000))
            .collect(),
    )
    .await;
    config.host.limits.max_instances = 1;
    // It joins only when asked: the first request finds no node serving.
    config.on_demand = true;
    let provisioner = keepers::start_provisioner(config).await;
    let lb_config = keepers::lb_config(core.url(), localnet.rpc_url());
    let lb = Arc::new(aether_lb::LoadBalancer::start(lb_config).await.unwrap());
    wait_until("the node to stand by", Duration::from_secs(120), || async {
        (!lb.standby().is_empty()).then_some(())
    })
    .await;

    let http = reqwest::Client::new();
    let through = format!("{}/vm/{hash}/", lb.url());
    let direct = format!("{}/vm/{hash}/", provisioner.host_url());
    let t = Instant::now();
    let r = http.get(&through).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let placed = t.elapsed();
    // The second program: the node is asked first, so only the boot is left.
    let asked = http
        .post(format!("{}/serve/{second}", provisioner.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 200);
    let t = Instant::now();
    let r = http
        .get(format!("{}/vm/{second}/", lb.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let booted = t.elapsed();
    println!(
        "cold start through the load balancer: {:.2} s with no node serving it yet (ask, join on chain, boot); {:.2} s on a node serving it (boot)",
        placed.as_secs_f64(),
        booted.as_secs_f64()
    );

    let _ = one_client(&http, &through, 20).await;
    let (p50, p99) = one_client(&http, &through, 300).await;
    let (d50, d99) = one_client(&http, &direct, 300).await;
    println!(
        "warm GET, one client: through the load balancer p50 {:.1} ms p99 {:.1} ms; straight to the node p50 {:.1} ms p99 {:.1} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        d50.as_secs_f64() * 1e3,
        d99.as_secs_f64() * 1e3
    );
    let lb_rps = many_clients(&http, &through, 8, 10).await;
    let direct_rps = many_clients(&http, &direct, 8, 10).await;
    println!(
        "warm GET, 8 clients: {lb_rps:.0} req/s through the load balancer, {direct_rps:.0} req/s straight to the node ({:.0}%)",
        100.0 * lb_rps / direct_rps
    );
    Arc::try_unwrap(lb).ok().unwrap().stop().await;
    provisioner.stop().await;
    core.stop().await;
    localnet.stop();
}
