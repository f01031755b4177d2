//! Real micro-VMs: QEMU microvm booting the Debian cloud kernel with our
//! initramfs and agent. On this machine KVM cannot boot a stock kernel
//! (nested `kvm_pvm`), so these run under TCG software emulation; the
//! cloud-hypervisor backend has no binary here and is not exercised.

use std::sync::Arc;
use std::time::Duration;

use aether_vm_host::hypervisor::{Grant, NetworkSpec};
use aether_vm_host::{volumes, BackendChoice, Config, Host};

mod common;

const PROGRAM: &str = "1111111111111111111111111111111111111111111111111111111111111111";

async fn host(dir: &std::path::Path, idle: Duration, max_instances: usize) -> Host {
    common::logs();
    host_denying(
        dir,
        idle,
        max_instances,
        vec!["127.0.0.0/8".parse().unwrap()],
    )
    .await
}

/// A host whose egress proxy refuses `deny` (the tests let this machine's
/// own network address stand in for the internet).
async fn host_denying(
    dir: &std::path::Path,
    idle: Duration,
    max_instances: usize,
    deny: Vec<aether_vm_host::egress::Net>,
) -> Host {
    let runtime = tokio::task::spawn_blocking(common::runtime).await.unwrap();
    let mut config = Config::new(dir.join("crn"), runtime.dir.clone());
    config.port = 0;
    config.backend = BackendChoice::Qemu;
    config.limits.idle_timeout = idle;
    config.limits.max_instances = max_instances;
    config.limits.max_inflight = 4;
    config.limits.request_timeout = Duration::from_secs(20);
    config.max_body = 16 * 1024 * 1024;
    config.egress_deny = Some(deny);
    config.relay = Some(env!("CARGO_BIN_EXE_aether-relay").into());
    Host::start(config).await.expect("the host starts")
}

fn code_volume(dir: &std::path::Path) -> std::path::PathBuf {
    let image = dir.join("code.ext4");
    volumes::code_volume_from_dir(&common::program_dir(dir), &image, 64 << 20).unwrap();
    image
}

/// A GET sent as typed, without a client's path clean-up.
async fn raw_get(url: &str, target: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

async fn usage(http: &reqwest::Client, url: &str) -> serde_json::Value {
    http.get(format!("{url}/about/usage"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_program_answers_get_and_post_of_any_size_and_in_parallel() {
    let _one = common::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path(), Duration::from_secs(120), 2).await;
    host.supervisor()
        .register(PROGRAM, common::program_spec(code_volume(dir.path())));
    let http = reqwest::Client::new();
    let base = format!("{}/vm/{PROGRAM}", host.url());

    // A client that gives up during the cold start does not stop the
    // boot: the VM comes up with nobody waiting, and the next request
    // finds it.
    let gave_up = http
        .get(format!("{base}/"))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()));
    let booted = aether_testing::wait_until(
        "the abandoned boot to finish",
        Duration::from_secs(60),
        || async {
            let seen = usage(&http, &host.url()).await;
            let vms = seen["vms"].as_array().cloned().unwrap_or_default();
            (vms.len() == 1).then(|| vms[0]["name"].clone())
        },
    )
    .await;

    // Then GET.
    let answer = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "hello from the guest\n");
    assert_eq!(usage(&http, &host.url()).await["vms"][0]["name"], booted);

    // POST bodies from 0 bytes to 10 MiB come back whole.
    for size in [0usize, 1, 65_537, 1 << 20, 10 << 20] {
        let body: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let answer = http
            .post(format!("{base}/cgi-bin/echo"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "size {size}");
        let back = answer.bytes().await.unwrap();
        assert_eq!(back.len(), size);
        assert!(back[..] == body[..], "size {size} came back changed");
    }

    // 20 at once.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (http, url) = (http.clone(), format!("{base}/cgi-bin/echo"));
        tasks.push(tokio::spawn(async move {
            let body = format!("request {i}");
            let answer = http.post(url).body(body.clone()).send().await.unwrap();
            assert_eq!(answer.status(), 200);
            assert_eq!(answer.text().await.unwrap(), body);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seen = usage(&http, &host.url()).await;
    let vms = seen["vms"].as_array().unwrap();
    assert!(!vms.is_empty() && vms.len() <= 2, "{seen}");
    assert_eq!(seen["backend"], "qemu");
    let served: u64 = vms.iter().map(|v| v["requests"].as_u64().unwrap()).sum();
    // 26 sent and waited for; the one abandoned during the boot reaches
    // the VM too when the server had not yet seen its client leave.
    assert!(served == 26 || served == 27, "{served} requests: {seen}");
    // The host's capacity, and what its VMs hold of it.
    assert!(seen["capacity"]["vcpus"].as_u64().unwrap() >= 1, "{seen}");
    assert!(
        seen["capacity"]["memory_mib"].as_u64().unwrap() > 0,
        "{seen}"
    );
    let held: u64 = vms.iter().map(|v| v["memory_mib"].as_u64().unwrap()).sum();
    assert_eq!(seen["in_use"]["memory_mib"].as_u64(), Some(held));

    // A program cannot pass its answer off as its node's router's.
    let forged = http
        .get(format!("{base}/cgi-bin/forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 200);
    assert!(forged
        .headers()
        .get(aether_sdk::vm::HOST_ERROR_HEADER)
        .is_none());
    assert_eq!(forged.text().await.unwrap(), "mine\n");
    // The router's own answers carry it.
    let unknown = http
        .get(format!("{}/vm/{}/", host.url(), "2".repeat(64)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown.headers()[aether_sdk::vm::HOST_ERROR_HEADER],
        "unknown_program"
    );

    // A body over the limit is refused before any VM sees it.
    let answer = http
        .post(format!("{base}/cgi-bin/echo"))
        .body(vec![0u8; 17 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 413);
    // Paths that climb out of the program, raw or escaped, never leave it.
    for path in [
        "../../about/usage",
        "%2e%2e/%2E%2E/about/usage",
        "a/..%2f..%2fabout",
    ] {
        let answer = raw_get(&host.url(), &format!("/vm/{PROGRAM}/{path}")).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(answer.contains("bad_path"), "{path}: {answer}");
    }
    // An unknown program, and a malformed name.
    let unknown = format!("{}/vm/{}/", host.url(), "2".repeat(64));
    assert_eq!(http.get(unknown).send().await.unwrap().status(), 404);
    let bad = format!("{}/vm/not-a-hash/", host.url());
    assert_eq!(http.get(bad).send().await.unwrap().status(), 400);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_vms_stop_crashes_answer_502_and_volumes_keep_or_forget() {
    let _one = common::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path(), Duration::from_secs(2), 1).await;
    let mut program = common::program_spec(code_volume(dir.path()));
    program.persistent_mib = Some(16);
    host.supervisor().register(PROGRAM, program);
    let http = reqwest::Client::new();
    let base = format!("{}/vm/{PROGRAM}", host.url());
    let get = |path: &str| {
        let (http, url) = (http.clone(), format!("{base}/{path}"));
        async move {
            let answer = http.get(url).send().await.unwrap();
            let status = answer.status().as_u16();
            // A program killed mid-answer leaves its body cut short.
            let text = answer
                .text()
                .await
                .unwrap_or_else(|e| format!("<cut short: {e}>"));
            (status, text)
        }
    };

    assert_eq!(get("cgi-bin/write?kept").await, (200, "written\n".into()));
    assert_eq!(
        get("cgi-bin/read").await,
        (200, "data=kept scratch=kept\n".into())
    );

    // Idle: the VM stops; the next request boots a new one, which finds
    // the persistent volume as it was and a fresh scratch volume.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while usage(&http, &host.url()).await["vms"]
        .as_array()
        .unwrap()
        .len()
        == 1
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the idle VM did not stop"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        get("cgi-bin/read").await,
        (200, "data=kept scratch=\n".into())
    );

    // The program exits: until the agent has seen it, a request answers
    // 502 with the reason; then a fresh VM serves.
    let _ = get("cgi-bin/stop").await;
    let mut after = Vec::new();
    loop {
        let answer = get("").await;
        if answer.0 == 200 {
            break;
        }
        assert_eq!(answer.0, 502, "{answer:?}");
        assert!(
            answer.1.contains("exited") || answer.1.contains("8080"),
            "{answer:?}"
        );
        after.push(answer);
        assert!(
            after.len() < 10,
            "no fresh VM after the program exited: {after:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // The VM crashes (kernel panic): the request in flight gets 502 with a
    // reason (the VM's end, or, should the dead guest fail to power off,
    // its silence), and the next request starts a fresh VM.
    let (status, text) = get("cgi-bin/crash").await;
    assert_eq!(status, 502, "{text}");
    assert!(
        text.contains("vm_failed") || text.contains("vm_unresponsive"),
        "{text}"
    );
    assert_eq!(get("").await, (200, "hello from the guest\n".into()));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guest_reaches_granted_services_and_nothing_else_on_the_host() {
    // Two host services: one granted, one not.
    let granted = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (granted_addr, other_addr) = (granted.local_addr().unwrap(), other.local_addr().unwrap());
    let serve = |listener: tokio::net::TcpListener, text: &'static str| {
        tokio::spawn(async move {
            let app =
                axum::Router::new().route("/", axum::routing::get(move || async move { text }));
            axum::serve(listener, app).await.unwrap();
        })
    };
    serve(granted, "granted service\n");
    serve(other, "must not be reached\n");

    let _one = common::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path(), Duration::from_secs(120), 1).await;
    let mut program = common::program_spec(code_volume(dir.path()));
    program.network = Some(NetworkSpec {
        grants: vec![Grant {
            guest: ("10.0.2.100".parse().unwrap(), 80),
            host: granted_addr,
        }],
    });
    host.supervisor().register(PROGRAM, program);
    let http = Arc::new(reqwest::Client::new());
    let fetch = |target: String| {
        let (http, url) = (
            http.clone(),
            format!("{}/vm/{PROGRAM}/cgi-bin/fetch?{target}", host.url()),
        );
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert_eq!(fetch("10.0.2.100:80".into()).await, "granted service\n");
    // The host's other port, through the gateway address, is not there.
    assert_eq!(
        fetch(format!("10.0.2.2:{}", other_addr.port())).await,
        "blocked\n"
    );
    assert_eq!(
        fetch(format!("10.0.2.100:{}", other_addr.port())).await,
        "blocked\n"
    );
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_program_that_never_listens_times_out_clearly() {
    let _one = common::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::task::spawn_blocking(common::runtime).await.unwrap();
    let mut config = Config::new(dir.path().join("crn"), runtime.dir.clone());
    config.port = 0;
    config.backend = BackendChoice::Qemu;
    config.limits.ready_timeout = Duration::from_secs(8);
    let host = Host::start(config).await.unwrap();
    let mut program = common::program_spec(code_volume(dir.path()));
    program.entrypoint = "echo 'not listening, only sleeping'; exec sleep 600".into();
    host.supervisor().register(PROGRAM, program);
    let answer = reqwest::get(format!("{}/vm/{PROGRAM}/", host.url()))
        .await
        .unwrap();
    assert_eq!(answer.status(), 502);
    let text = answer.text().await.unwrap();
    assert!(
        text.contains("did not answer on its port within 8s"),
        "{text}"
    );
    // Nothing is left running or on disk.
    // The next request does not wait out another boot: it hears why at once.
    let start = std::time::Instant::now();
    let again = reqwest::get(format!("{}/vm/{PROGRAM}/", host.url()))
        .await
        .unwrap();
    assert_eq!(again.status(), 502);
    let text = again.text().await.unwrap();
    assert!(
        text.contains("did not answer on its port") && text.contains("next boot"),
        "{text}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
    let seen = usage(&reqwest::Client::new(), &host.url()).await;
    assert!(seen["vms"].as_array().unwrap().is_empty(), "{seen}");
    let vms = dir.path().join("crn/vms");
    assert_eq!(std::fs::read_dir(&vms).map(|d| d.count()).unwrap_or(0), 0);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_images_and_oversized_code_are_refused() {
    let _one = common::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    let host = host(dir.path(), Duration::from_secs(120), 1).await;
    let junk = dir.path().join("junk.img");
    std::fs::write(&junk, vec![0x42u8; 1 << 16]).unwrap();
    host.supervisor()
        .register(PROGRAM, common::program_spec(junk));
    let answer = reqwest::get(format!("{}/vm/{PROGRAM}/", host.url()))
        .await
        .unwrap();
    assert_eq!(answer.status(), 502);
    let text = answer.text().await.unwrap();
    assert!(text.contains("not a volume image"), "{text}");
    assert!(usage(&reqwest::Client::new(), &host.url()).await["vms"]
        .as_array()
        .unwrap()
        .is_empty());
    // Code over the size limit never becomes a volume.
    let tree = common::program_dir(dir.path());
    std::fs::write(tree.join("big"), vec![0u8; 2 << 20]).unwrap();
    let out = dir.path().join("big.ext4");
    assert!(volumes::code_volume_from_dir(&tree, &out, 1 << 20).is_err());
    assert!(!out.exists());
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn code_comes_from_a_core_node_by_content_id_and_is_cached() {
    use aether_sdk::node_client::{NodeClient, StorageEngine};
    let _one = common::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    // A real core node holds the code volume as a stored file.
    let mut node_config = aether_node::Config::new(dir.path().join("node"));
    node_config.port = 0;
    let node = aether_node::Node::start(node_config).await.unwrap();
    let image = code_volume(dir.path());
    let id = NodeClient::new(node.url())
        .upload_file(&image, StorageEngine::Storage, |_, _| {})
        .await
        .unwrap();

    let host = host(dir.path(), Duration::from_secs(120), 1).await;
    let fetched = host.volume(&node.url(), &id).await.unwrap();
    assert_eq!(
        std::fs::read(&fetched).unwrap(),
        std::fs::read(&image).unwrap()
    );
    host.supervisor()
        .register(PROGRAM, common::program_spec(fetched));
    let answer = reqwest::get(format!("{}/vm/{PROGRAM}/", host.url()))
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), "hello from the guest\n");

    // Cached: the core node is no longer needed for it.
    let node_url = node.url();
    node.stop().await;
    assert_eq!(
        host.volume(&node_url, &id).await.unwrap(),
        host.volume(&node_url, &id).await.unwrap()
    );
    // What is neither cached nor reachable is a clear error, and leaves nothing.
    let missing = "ab".repeat(32);
    let err = host.volume(&node_url, &missing).await.unwrap_err();
    assert!(err.to_string().contains(&missing), "{err}");
    assert!(host.volume(&node_url, "../../etc/passwd").await.is_err());
    let cached: Vec<_> = std::fs::read_dir(dir.path().join("crn/cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(cached, vec![id.clone()]);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_larger_than_the_cache_is_refused() {
    use aether_sdk::node_client::{NodeClient, StorageEngine};
    let dir = tempfile::tempdir().unwrap();
    let mut node_config = aether_node::Config::new(dir.path().join("node"));
    node_config.port = 0;
    let node = aether_node::Node::start(node_config).await.unwrap();
    let big = dir.path().join("big");
    std::fs::write(&big, vec![5u8; 3 << 20]).unwrap();
    let client = NodeClient::new(node.url());
    let id = client
        .upload_file(&big, StorageEngine::Storage, |_, _| {})
        .await
        .unwrap();
    let cache = volumes::Cache::new(dir.path().join("cache"), 1 << 20).unwrap();
    let err = cache.fetch(&client, &id, u64::MAX).await.unwrap_err();
    assert!(
        err.to_string().contains("larger than the cache allows"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("cache")).unwrap().count(),
        0
    );
    node.stop().await;
}
