//! Two resource nodes, each a provisioner with its own vm-host (QEMU
//! guests), against a real core node and localnet: a dApp stores a code
//! volume, posts a PROGRAM and opens a stream for two replicas; both
//! providers join and serve it; the settler pays each the same share; the
//! stream runs dry and both stop serving.

use std::sync::Arc;
use std::time::Duration;

use aether_sdk::message::{MessageBuilder, StoreBuilder};
use aether_sdk::node_client::{MessageFilter, StorageEngine};
use aether_testing::keepers::{self, PaidStage};
use aether_testing::{blocking, client, vm, wait_until};
use solana_signer::Signer;

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_providers_serve_a_paid_program_until_its_stream_runs_dry() {
    let _vm = vm::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    // dApp, core operator, provider A's owner, provider B's owner, settler.
    // The dApp stores its code volume and posts the PROGRAM (192 MiB). A
    // core node and two resource nodes under it; a stream for two
    // replicas, 10 a second with 100,000 paid in; a provisioner for each.
    let PaidStage {
        localnet,
        keys,
        core,
        node,
        dapp,
        store,
        hash,
        resource,
        mut provisioners,
        ..
    } = keepers::paid_providers(dir.path(), 5, 192, 2, 10, 100_000, false).await;

    // Both join and serve it.
    let reader = Arc::new(client(&localnet, &keys[0]));
    let dapp_key = keys[0].pubkey();
    wait_until(
        "both providers in the stream",
        Duration::from_secs(60),
        || {
            let reader = reader.clone();
            async move {
                let s =
                    blocking(move || reader.stream(&dapp_key, &resource).unwrap().unwrap()).await;
                (s.providers.len() == 2).then_some(())
            }
        },
    )
    .await;
    wait_until(
        "both provisioners serving",
        Duration::from_secs(60),
        || async {
            provisioners
                .iter()
                .all(|p| p.serving().iter().any(|s| s.program == hash))
                .then_some(())
        },
    )
    .await;
    for p in &provisioners {
        let (status, body) = get(&format!("{}/vm/{hash}/", p.host_url())).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("hello from the guest"), "{body}");
    }

    // Each announced what it serves on the core node.
    let announced = wait_until("two announcements", Duration::from_secs(30), || async {
        let page = node
            .messages(
                &MessageFilter {
                    content_types: vec![aether_sdk::vm::ANNOUNCEMENT_TYPE.into()],
                    ..Default::default()
                },
                1,
                50,
            )
            .await
            .ok()?;
        (page.messages.len() >= 2).then_some(page.messages)
    })
    .await;
    let senders: std::collections::BTreeSet<String> =
        announced.iter().map(|m| m.sender.clone()).collect();
    assert!(senders.contains(&keys[2].pubkey().to_string()));
    assert!(senders.contains(&keys[3].pubkey().to_string()));
    // In the typed contract the load balancer reads.
    let hosts: Vec<String> = provisioners.iter().map(|p| p.host_url()).collect();
    for message in &announced {
        let Ok(aether_sdk::message::Content::Post(post)) = message.content() else {
            panic!("an announcement is a POST");
        };
        let a: aether_sdk::vm::Announcement =
            serde_json::from_value(post.content.expect("content")).expect("an Announcement");
        assert!(hosts.contains(&a.endpoint().to_owned()), "{a:?}");
        assert!(a.provisioner.is_some() && a.identity.is_some(), "{a:?}");
    }

    // A restart converges to the same set, without joining again.
    let restarted_config = provisioners[0].config().clone();
    let first = provisioners.remove(0);
    let before = first.serving();
    first.stop().await;
    let restarted = keepers::start_provisioner(restarted_config).await;
    wait_until(
        "the restarted provisioner to serve again",
        Duration::from_secs(60),
        || async { (restarted.serving() == before).then_some(()) },
    )
    .await;
    assert_eq!(
        restarted
            .metrics()
            .joined
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    provisioners.insert(0, restarted);

    // The dApp amends its code: a request in flight finishes on the old
    // version, and the next ones get the new one.
    let slow = {
        let url = format!("{}/vm/{hash}/cgi-bin/slow", provisioners[0].host_url());
        tokio::spawn(async move { get(&url).await })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let v2_dir = dir.path().join("v2");
    std::fs::create_dir_all(&v2_dir).unwrap();
    let v2 = node
        .upload_file(
            &vm::code_volume_saying(&v2_dir, "hello v2\n"),
            StorageEngine::Storage,
            |_, _| {},
        )
        .await
        .unwrap();
    let amend = MessageBuilder::new(&dapp)
        .build(
            StoreBuilder::new(v2.clone())
                .unwrap()
                .reference(store.clone()),
        )
        .unwrap();
    node.post_message(&amend, true).await.unwrap();
    wait_until(
        "both provisioners on the new code",
        Duration::from_secs(60),
        || async {
            provisioners
                .iter()
                .all(|p| {
                    p.serving()
                        .iter()
                        .any(|s| s.program == hash && s.code_file == v2)
                })
                .then_some(())
        },
    )
    .await;
    let (status, body) = slow.await.unwrap();
    assert_eq!(
        (status, body.trim()),
        (200, "slow done"),
        "the request in flight was kept"
    );
    for p in &provisioners {
        let (status, body) = get(&format!("{}/vm/{hash}/", p.host_url())).await;
        assert_eq!((status, body.trim()), (200, "hello v2"));
    }

    // Time passes; the settler pays both the same; then the stream runs dry.
    let fee_payer = dir.path().join("settler.json");
    solana_keypair::write_keypair_file(&keys[4], &fee_payer).unwrap();
    let mut settler_config = aether_settler::Config::new(
        localnet.rpc_url(),
        &fee_payer,
        dir.path().join("settler.sqlite"),
    );
    settler_config.port = 0;
    settler_config.interval = Duration::from_millis(300);
    settler_config.threshold = 1_000;
    let settler = aether_settler::Settler::start(settler_config)
        .await
        .unwrap();
    let now = aether_testing::chain_time(&reader).await;
    localnet.time_travel(now + 1_000_000).await.unwrap();
    let dry = wait_until("the stream to run dry", Duration::from_secs(60), || {
        let reader = reader.clone();
        async move {
            let s = blocking(move || reader.stream(&dapp_key, &resource).unwrap().unwrap()).await;
            s.exhausted.then_some(s)
        }
    })
    .await;
    assert_eq!(dry.paid_out, 100_000);
    let paid: Vec<u64> = dry.providers.iter().map(|p| p.paid).collect();
    assert!(
        paid[0] > 0 && paid[0].abs_diff(paid[1]) <= 10 * 60,
        "{paid:?}"
    );

    // Both stop serving it: the program is gone and no VM runs.
    wait_until(
        "both provisioners to stop",
        Duration::from_secs(60),
        || async {
            provisioners
                .iter()
                .all(|p| p.serving().is_empty())
                .then_some(())
        },
    )
    .await;
    for p in &provisioners {
        let (status, _) = get(&format!("{}/vm/{hash}/", p.host_url())).await;
        assert_eq!(status, 404);
        let (_, usage) = get(&format!("{}/about/usage", p.host_url())).await;
        let usage: serde_json::Value = serde_json::from_str(&usage).unwrap();
        assert_eq!(usage["vms"].as_array().map(Vec::len), Some(0), "{usage}");
    }
    settler.stop().await;
    for p in provisioners {
        p.stop().await;
    }
    core.stop().await;
    localnet.stop();
}
