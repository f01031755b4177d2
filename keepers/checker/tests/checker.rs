//! Two core operators run checkers against three resource nodes: a real
//! vm-host serving the reference program in a QEMU guest, a server that
//! answers quickly but wrongly, and an address where nothing listens.
//! Each checker reports its scores; once both have (the quorum of two
//! active core nodes), each node's score on chain is their median.

use std::time::Duration;

use aether_checker::{Checker, Config, Reference};
use aether_testing::{blocking, chain_with_keys, client, free_port, vm, wait_until};
use axum::routing::get;
use axum::Router;
use solana_signer::Signer;

const REFERENCE: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

/// Answers like a node, fast, but the program's answer is wrong.
async fn wrong_node() -> String {
    let app = Router::new()
        .route(
            "/about/usage",
            get(|| async {
                axum::Json(serde_json::json!({"capacity": {"vcpus": 64, "memory_mib": 1 << 20}}))
            }),
        )
        .route("/vm/{*rest}", get(|| async { "hello from somewhere else" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scores_follow_health_and_the_median_lands_on_chain() {
    let _vm = vm::one_at_a_time().await;
    // Two core operators; one owner of three resource nodes and their identities.
    let (localnet, _report, keys) = chain_with_keys(6).await;
    let dir = tempfile::tempdir().unwrap();

    let host = vm::host(dir.path()).await;
    host.supervisor()
        .register(REFERENCE, vm::program_spec(vm::code_volume(dir.path())));
    // Booted before the probes: the healthy node's score is about its
    // health, not about how long one cold boot takes under emulation.
    let warm = reqwest::get(format!("{}/vm/{REFERENCE}/", host.url()))
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);
    let endpoints = [
        host.url(),
        wrong_node().await,
        format!("http://127.0.0.1:{}", free_port()),
    ];

    let operators = [client(&localnet, &keys[0]), client(&localnet, &keys[1])];
    let owner = client(&localnet, &keys[2]);
    let identities: Vec<_> = keys[3..6].iter().map(|k| k.insecure_clone()).collect();
    let eps = endpoints.clone();
    let (records, operators) = blocking(move || {
        for (i, op) in operators.iter().enumerate() {
            aether_testing::register_core(op, &format!("http://core{i}.test")).unwrap();
        }
        // The owner runs the core node that parents its resource nodes, and
        // no checker: the program refuses scores from a node's owner or
        // parent, so both checkers score them.
        aether_testing::register_core(&owner, "http://core2.test").unwrap();
        let records: Vec<_> = identities
            .iter()
            .zip(&eps)
            .map(|(id, ep)| aether_testing::register_resource(&owner, id, None, ep).unwrap())
            .collect();
        (records, operators)
    })
    .await;
    // The three core nodes become active at the next epoch.
    let [cranker, _] = operators;
    let epoch = aether_testing::next_epoch(&localnet, cranker).await;
    assert_eq!(epoch, 1);

    let mut checkers = Vec::new();
    for (i, key) in keys[..2].iter().enumerate() {
        let keypair = dir.path().join(format!("operator{i}.json"));
        solana_keypair::write_keypair_file(key, &keypair).unwrap();
        let mut config = Config::new(
            localnet.rpc_url(),
            &keypair,
            dir.path().join(format!("checker{i}.sqlite")),
        );
        config.port = 0;
        config.interval = Duration::from_millis(300);
        config.min_probes = 3;
        config.probe_timeout = Duration::from_secs(20);
        config.set_reference(Reference {
            program: REFERENCE.into(),
            path: "/".into(),
            expect: "hello from the guest".into(),
        });
        checkers.push(Checker::start(config).await.unwrap());
    }

    let reader = std::sync::Arc::new(client(&localnet, &keys[2]));
    let identities: Vec<_> = keys[3..6].iter().map(|k| k.pubkey()).collect();
    let scored = wait_until(
        "all three nodes scored by a quorum",
        Duration::from_secs(120),
        || {
            let reader = reader.clone();
            let identities = identities.clone();
            async move {
                let records = blocking(move || {
                    identities
                        .iter()
                        .map(|id| reader.node_record(id).unwrap().unwrap())
                        .collect::<Vec<_>>()
                })
                .await;
                records
                    .iter()
                    .all(|r| r.scored && r.score_epoch == epoch)
                    .then_some(records)
            }
        },
    )
    .await;
    let scores: Vec<u16> = scored.iter().map(|r| r.score).collect();
    assert!(scores[0] >= 8_000, "healthy node: {scores:?}");
    assert!(scores[1] <= 4_000, "wrong answers: {scores:?}");
    assert_eq!(scores[2], 0, "nothing listening: {scores:?}");
    // Each is the median (here the mean of two) of the epoch's reports.
    for record in &scored {
        let mut reports: Vec<u16> = record
            .reports
            .iter()
            .filter(|r| r.epoch == epoch)
            .map(|r| r.score)
            .collect();
        assert_eq!(reports.len(), 2);
        reports.sort();
        assert_eq!(
            record.score,
            ((u32::from(reports[0]) + u32::from(reports[1])) / 2) as u16
        );
    }

    // Each checker shows what it reported, and reports once per epoch (it
    // logs a report once its transaction is confirmed, which can be a
    // moment after the chain shows it).
    wait_until(
        "both checkers to log their reports",
        Duration::from_secs(10),
        || async {
            checkers
                .iter()
                .all(|c| {
                    c.metrics()
                        .reports
                        .load(std::sync::atomic::Ordering::Relaxed)
                        == 3
                })
                .then_some(())
        },
    )
    .await;
    let http = reqwest::Client::new();
    for checker in &checkers {
        let standings: Vec<serde_json::Value> = http
            .get(format!("{}/scores", checker.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut probed: Vec<String> = standings
            .iter()
            .map(|s| s["record"].as_str().unwrap().to_owned())
            .collect();
        probed.sort();
        let mut expected: Vec<String> = records.iter().map(|r| r.to_string()).collect();
        expected.sort();
        assert_eq!(probed, expected);
        for s in &standings {
            assert!(s["reported"].is_u64(), "{s}");
            assert!(s["probes"].as_u64().unwrap() >= 3, "{s}");
        }
        assert_eq!(
            checker
                .metrics()
                .reports
                .load(std::sync::atomic::Ordering::Relaxed),
            3
        );
    }
    for checker in checkers {
        checker.stop().await;
    }
    host.stop().await;
    localnet.stop();
}
