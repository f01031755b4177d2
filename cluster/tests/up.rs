//! `aether up`'s cluster, whole and usable: every part answers, the core
//! node is active and both nodes are registered; a program the wallet
//! posts and pays for answers through the load balancer; a second start
//! on the same data directory finds everything as it was. Real parts:
//! localnet with its ledger on disk, SQLite files, QEMU (TCG) guests.

use std::sync::Mutex;
use std::time::Duration;

use aether_cluster::{Cluster, Config, RuntimeSource};
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::node_client::NodeClient;
use aether_sdk::programs::client::AetherClient;
use aether_sdk::programs::staking;
use aether_testing::{blocking, vm, wait_until};

fn config(data: &std::path::Path, runtime: std::path::PathBuf) -> Config {
    let mut config = Config::new(data.to_path_buf());
    config.ports = aether_cluster::Ports::free();
    config.slot_ms = 100;
    config.runtime = RuntimeSource::Dir(runtime);
    config.backend = aether_vm_host::BackendChoice::Qemu;
    config.interval = Duration::from_millis(500);
    config
}

async fn get(url: &str) -> Option<(u16, String)> {
    let r = reqwest::get(url).await.ok()?;
    Some((r.status().as_u16(), r.text().await.ok()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_starts_a_whole_cluster_that_serves_a_paid_program_and_restarts_as_it_was() {
    let _one = vm::one_at_a_time().await;
    vm::logs();
    let runtime = tokio::task::spawn_blocking(vm::runtime).await.unwrap().dir;
    let dir = tempfile::tempdir().unwrap();
    let steps = Mutex::new(Vec::<String>::new());
    let cluster = Cluster::start(config(dir.path(), runtime.clone()), &|s| {
        steps.lock().unwrap().push(s.to_string())
    })
    .await
    .expect("the cluster starts");
    let steps = steps.into_inner().unwrap();
    assert!(steps.first().unwrap().contains("localnet"), "{steps:?}");
    assert!(
        steps.iter().any(|s| s.contains("load balancer")),
        "{steps:?}"
    );
    // Ready means the load balancer has read the resource node's offer.
    assert!(steps.last().unwrap().contains("announce"), "{steps:?}");
    let summary = cluster.summary();
    for url in [cluster.node_url(), cluster.lb_url(), cluster.indexer_url()] {
        assert!(summary.contains(&url), "{summary}");
    }
    let keys = cluster.keys().clone();
    for key in [
        &keys.wallet,
        &keys.core_operator,
        &keys.resource_owners[0],
        &keys.authority,
    ] {
        assert!(summary.contains(&key.display().to_string()));
        assert!(key.exists());
    }

    // On chain: the operator's node is active, both nodes registered.
    let wallet = solana_keypair::read_keypair_file(&keys.wallet).unwrap();
    let operator = solana_keypair::read_keypair_file(&keys.core_operator).unwrap();
    let chain = AetherClient::new(cluster.rpc_url(), wallet.insecure_clone());
    let (record, rpc) = (cluster.resource_records()[0], cluster.rpc_url().to_string());
    {
        let chain = AetherClient::new(&rpc, wallet.insecure_clone());
        let operator = solana_signer::Signer::pubkey(&operator);
        blocking(move || {
            let node = chain
                .staking_node(&operator)
                .unwrap()
                .expect("a staking node");
            assert!(
                node.is_active_in(&chain.staking_config().unwrap()),
                "active"
            );
            assert!(chain
                .node_record(&staking::node(&operator))
                .unwrap()
                .is_some());
            let records = chain.node_records().unwrap();
            let (_, mine) = records.iter().find(|(key, _)| *key == record).unwrap();
            // Function VMs mostly wait: each core offers several vCPUs.
            let cores = aether_vm_host::capacity::host_cores();
            assert_eq!(
                u64::from(mine.capacity.vcpus),
                cores * u64::from(aether_cluster::VCPUS_PER_CORE)
            );
        })
        .await;
    }
    // The node reports the vCPUs it registered, as the checker expects.
    let usage = format!("{}/about/usage", cluster.provisioners()[0].host_url());
    let (_, usage) = get(&usage).await.unwrap();
    let usage: serde_json::Value = serde_json::from_str(&usage).unwrap();
    assert_eq!(
        usage["capacity"]["vcpus"].as_u64(),
        Some(aether_vm_host::capacity::offered_vcpus(
            aether_cluster::VCPUS_PER_CORE
        ))
    );

    // The wallet posts a program and pays for one replica.
    let node = NodeClient::new(cluster.node_url());
    let account = SolanaAccount::from_bytes(&wallet.to_bytes()).unwrap();
    let program_dir = dir.path().join("program");
    std::fs::create_dir_all(&program_dir).unwrap();
    let (_, program) = vm::post_program(&node, &account, &program_dir, 192).await;
    let resource = aether_testing::resource_of(&program);
    blocking(move || {
        chain
            .open_stream(aether_testing::compute_stream(resource, 2, 1, 1_000_000))
            .unwrap()
    })
    .await;
    let through_lb = format!("{}/vm/{program}/", cluster.lb_url());
    let answer = wait_until(
        "the program through the load balancer",
        Duration::from_secs(180),
        || async { get(&through_lb).await.filter(|(status, _)| *status == 200) },
    )
    .await;
    assert_eq!(answer.1, "hello from the guest\n");
    let wallet_key = solana_signer::Signer::pubkey(&wallet).to_string();
    let streams = format!("{}/streams?resource={program}", cluster.indexer_url());
    wait_until(
        "the indexer to list the stream",
        Duration::from_secs(30),
        || async {
            get(&streams)
                .await
                .filter(|(status, body)| *status == 200 && body.contains(&wallet_key))
        },
    )
    .await;
    // The checker's reference program is posted, paid for and served.
    let reference = cluster
        .reference_program()
        .expect("a reference program")
        .to_string();
    assert!(summary.contains(&reference));
    wait_until(
        "the reference program served",
        Duration::from_secs(60),
        || async {
            cluster.provisioners()[0]
                .serving()
                .iter()
                .any(|s| s.program == reference)
                .then_some(())
        },
    )
    .await;
    // (Through the load balancer once its routes name the node.)
    let through_lb = format!("{}/vm/{reference}/", cluster.lb_url());
    let body = wait_until(
        "the reference program through the load balancer",
        Duration::from_secs(60),
        || async { get(&through_lb).await.filter(|(status, _)| *status == 200) },
    )
    .await
    .1;
    assert_eq!(body, "aether reference ok\n");
    // The checker counts it: without it a score stops at 4,000.
    let scores = format!("{}/scores", cluster.checker_url());
    let record_key = record.to_string();
    wait_until(
        "a probe that counts the reference",
        Duration::from_secs(60),
        || async {
            let (_, body) = get(&scores).await?;
            let standings: serde_json::Value = serde_json::from_str(&body).ok()?;
            standings
                .as_array()?
                .iter()
                .find(|s| s["record"] == record_key.as_str())
                .filter(|s| s["score"].as_u64().unwrap_or(0) > 4_000)
                .map(|_| ())
        },
    )
    .await;
    cluster.stop().await;

    // Again, on the same data directory: nothing set up twice.
    let cluster = Cluster::start(config(dir.path(), runtime.clone()), &|_| {})
        .await
        .expect("the cluster starts again");
    assert_eq!(cluster.resource_records(), [record]);
    assert_eq!(cluster.reference_program(), Some(reference.as_str()));
    let through_lb = format!("{}/vm/{program}/", cluster.lb_url());
    let answer = wait_until("the program again", Duration::from_secs(180), || async {
        get(&through_lb).await.filter(|(status, _)| *status == 200)
    })
    .await;
    assert_eq!(answer.1, "hello from the guest\n");
    cluster.stop().await;
}
