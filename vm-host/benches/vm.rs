//! `cargo bench -p aether-vm-host`: cold start (first request to a program
//! with no VM, through boot; with the code cached, and fetched from a core
//! node), warm request latency and throughput, and a
//! 1 MiB echo, all through the router over HTTP on loopback. Under QEMU
//! TCG here (no usable KVM); compare as ratios on one machine.

use std::time::{Duration, Instant};

use aether_vm_host::supervisor::ProgramSpec;
use aether_vm_host::{volumes, BackendChoice, Config, Host};

#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

const PROGRAM: &str = "3333333333333333333333333333333333333333333333333333333333333333";

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::task::spawn_blocking(common::runtime).await.unwrap();
    let mut config = Config::new(dir.path().join("crn"), runtime.dir.clone());
    config.port = 0;
    config.backend = BackendChoice::Qemu;
    config.limits.max_instances = 1;
    config.limits.max_inflight = 64;
    let host = Host::start(config).await.unwrap();
    let image = dir.path().join("code.ext4");
    volumes::code_volume_from_dir(&common::program_dir(dir.path()), &image, 64 << 20).unwrap();
    let spec = ProgramSpec {
        code: image,
        entrypoint: common::ENTRYPOINT.into(),
        port: 8080,
        memory_mib: 192,
        vcpus: 1,
        env: Vec::new(),
        scratch_mib: None,
        persistent_mib: None,
        network: None,
        rootfs_mib: None,
    };
    let http = reqwest::Client::new();
    let url = format!("{}/vm/{PROGRAM}/", host.url());
    let (backend, acceleration) = host.supervisor().backend();
    println!("aether-vm-host benchmark ({backend}, {acceleration}, 1 vCPU, 192 MiB guest)");

    let mut colds = Vec::new();
    for _ in 0..3 {
        host.supervisor().unregister(PROGRAM).await;
        host.supervisor().register(PROGRAM, spec.clone());
        let start = Instant::now();
        let answer = http.get(&url).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        answer.bytes().await.unwrap();
        colds.push(start.elapsed());
    }
    colds.sort();
    println!(
        "  cold start, code cached:            median {:?}  worst {:?}",
        colds[1], colds[2]
    );

    // Code not cached: fetched from a core node by content id, then booted.
    let mut node_config = aether_node::Config::new(dir.path().join("node"));
    node_config.port = 0;
    let node = aether_node::Node::start(node_config).await.unwrap();
    let id = aether_sdk::node_client::NodeClient::new(node.url())
        .upload_file(
            &spec.code,
            aether_sdk::node_client::StorageEngine::Storage,
            |_, _| {},
        )
        .await
        .unwrap();
    let size = std::fs::metadata(&spec.code).unwrap().len();
    let mut uncached = Vec::new();
    for _ in 0..3 {
        host.supervisor().unregister(PROGRAM).await;
        let _ = std::fs::remove_file(dir.path().join("crn/cache").join(&id));
        let start = Instant::now();
        let code = host.volume(&node.url(), &id).await.unwrap();
        host.supervisor().register(
            PROGRAM,
            ProgramSpec {
                code,
                ..spec.clone()
            },
        );
        let answer = http.get(&url).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        answer.bytes().await.unwrap();
        uncached.push(start.elapsed());
    }
    uncached.sort();
    println!(
        "  cold start, code fetched ({} MiB):   median {:?}  worst {:?}",
        size >> 20,
        uncached[1],
        uncached[2]
    );
    node.stop().await;

    let (mut warm, mut host_share) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        let start = Instant::now();
        let answer = http.get(&url).send().await.unwrap();
        // The agent says how long the guest took (Server-Timing).
        let guest_ms: f64 = answer
            .headers()
            .get("server-timing")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split("dur=").nth(1))
            .and_then(|d| d.parse().ok())
            .expect("the agent reports its time");
        answer.bytes().await.unwrap();
        let total = start.elapsed();
        warm.push(total);
        host_share.push(total.saturating_sub(Duration::from_secs_f64(guest_ms / 1000.0)));
    }
    warm.sort();
    host_share.sort();
    println!(
        "  warm GET, one client:               p50 {:?}  p99 {:?}",
        percentile(&warm, 50),
        percentile(&warm, 99)
    );
    println!(
        "  of which outside the guest:         p50 {:?}  p99 {:?}  (client, router, channel)",
        percentile(&host_share, 50),
        percentile(&host_share, 99)
    );

    let deadline = Instant::now() + Duration::from_secs(5);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let answer = http.get(&url).send().await.unwrap();
                assert_eq!(answer.status(), 200);
                answer.bytes().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    println!(
        "  warm GET, 8 clients:                {:.0} requests/s",
        total as f64 / 5.0
    );

    let body = vec![7u8; 1 << 20];
    let start = Instant::now();
    for _ in 0..10 {
        let answer = http
            .post(format!("{url}cgi-bin/echo"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.bytes().await.unwrap().len(), body.len());
    }
    let mib_s = 20.0 / start.elapsed().as_secs_f64();
    println!("  1 MiB POST echoed (CGI), both ways: {mib_s:.1} MiB/s");
    host.stop().await;
}
