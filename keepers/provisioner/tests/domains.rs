//! A custom domain end to end, with real parts: the dApp's PROGRAM runs in
//! a QEMU guest; its owner binds `app.example.test`; a DNS server on
//! loopback (hickory-server) holds the TXT record; two core operators' dns
//! keepers attest it live; the provisioner hands it to vm-host, which
//! obtains a certificate from Debian's pebble (HTTP-01) and answers over
//! HTTPS with it.

use std::sync::Arc;
use std::time::Duration;

use aether_sdk::registry_program::state::DomainStatus;
use aether_testing::keepers::{lb_config, provisioner_config, stage, start_provisioner, Stage};
use aether_testing::{blocking, client, dns, free_port, pebble, vm, wait_until};
use solana_keypair::Keypair;
use solana_signer::Signer;

const DOMAIN: &str = "app.example.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bound_domain_answers_over_https_with_a_certificate_from_pebble() {
    let _vm = vm::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    // The zone: the domain points at this machine.
    let (dns_addr, zone) = dns::server(
        "example.test.",
        vec![dns::a("app.example.test.", "127.0.0.1".parse().unwrap())],
    )
    .await;
    // vm-host's plain HTTP port is where pebble checks the challenge.
    let http_port = free_port();
    let pebble = pebble::start(&dir.path().join("pebble"), dns_addr, http_port).await;

    // dApp, two core operators, the resource node's owner.
    let Stage {
        localnet,
        keys,
        core,
        node,
        dapp,
    } = stage(4, dir.path()).await;
    let (_, hash) = vm::post_program(&node, &dapp, dir.path(), 192).await;
    let resource = aether_testing::resource_of(&hash);
    let dapp_key = keys[0].pubkey();
    let txt = aether_sdk::programs::registry::txt_value(&resource, &dapp_key);
    zone.upsert(dns::txt("_aether.app.example.test.", vec![txt]), 2)
        .await;

    let identity = Keypair::new();
    {
        let ops = [client(&localnet, &keys[1]), client(&localnet, &keys[2])];
        let owner = client(&localnet, &keys[3]);
        let dapp_client = client(&localnet, &keys[0]);
        let id = identity.insecure_clone();
        let operator = keys[1].insecure_clone();
        let ops = blocking(move || {
            aether_testing::register_core(&ops[0], "http://core0.test").unwrap();
            aether_testing::register_core(&ops[1], "http://core1.test").unwrap();
            aether_testing::register_resource(&owner, &id, Some(&operator), "http://crn.test")
                .unwrap();
            dapp_client
                .open_stream(aether_testing::compute_stream(resource, 10, 1, 1_000_000))
                .unwrap();
            dapp_client.request_domain(DOMAIN, resource).unwrap();
            ops
        })
        .await;
        let [cranker, _] = ops;
        assert_eq!(aether_testing::next_epoch(&localnet, cranker).await, 1);
    }

    // The core operators' dns keepers make the binding live.
    let mut keepers = Vec::new();
    for (i, key) in keys[1..3].iter().enumerate() {
        let keypair = dir.path().join(format!("operator{i}.json"));
        solana_keypair::write_keypair_file(key, &keypair).unwrap();
        let mut config = aether_dns::Config::new(
            localnet.rpc_url(),
            &keypair,
            dns_addr,
            dir.path().join(format!("dns{i}.sqlite")),
        );
        config.port = 0;
        config.interval = Duration::from_millis(300);
        keepers.push(aether_dns::DnsKeeper::start(config).await.unwrap());
    }
    let reader = Arc::new(client(&localnet, &keys[0]));
    wait_until("the domain to go live", Duration::from_secs(60), || {
        let reader = reader.clone();
        async move {
            let b =
                blocking(move || reader.domain_binding(DOMAIN, &dapp_key).unwrap().unwrap()).await;
            (b.status == DomainStatus::Live).then_some(())
        }
    })
    .await;

    // The provisioner serves the program and the domain, with ACME.
    let owner = &keys[3];
    let (directory, ca) = (pebble.directory.clone(), pebble.listener_ca.clone());
    let start = |renew_before: Duration| {
        let (dir, directory, ca) = (dir.path().to_path_buf(), directory.clone(), ca.clone());
        let (node_url, rpc_url, identity) = (core.url(), localnet.rpc_url(), identity.pubkey());
        async move {
            let mut host = vm::host_config(&dir.join("crn")).await;
            host.port = http_port;
            host.https_port = Some(0);
            host.acme = Some(aether_vm_host::acme::AcmeConfig {
                directory,
                ca_pem: Some(ca),
                contact: Vec::new(),
                renew_before,
            });
            let config = provisioner_config(
                node_url,
                rpc_url,
                owner,
                &dir.join("owner.json"),
                identity,
                host,
            );
            start_provisioner(config).await
        }
    };
    let data_dir = dir.path().join("crn/crn");
    let week = Duration::from_secs(7 * 86_400);
    let provisioner = start(week).await;
    let https = provisioner.https_addr().await.unwrap();

    // Pebble's issuing root, and nothing else, is trusted.
    let root = pebble::issuing_root(&pebble).await;
    let (status, body) = pebble::https_answer(https, DOMAIN, &root).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("hello from the guest"), "{body}");
    // Over plain HTTP, by Host, too.
    let answer = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{http_port}/"))
        .header("host", DOMAIN)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // And through a load balancer, which finds the domain's program on
    // chain and the node serving it from its announcement.
    let lb_config = lb_config(core.url(), localnet.rpc_url());
    let lb = aether_lb::LoadBalancer::start(lb_config).await.unwrap();
    wait_until(
        "the load balancer to route the program",
        Duration::from_secs(60),
        || async { (!lb.targets(&hash).is_empty()).then_some(()) },
    )
    .await;
    let answer = reqwest::Client::new()
        .get(format!("{}/", lb.url()))
        .header("host", DOMAIN)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer
        .text()
        .await
        .unwrap()
        .contains("hello from the guest"));
    lb.stop().await;
    // The certificate is kept on disk for restarts.
    assert!(data_dir.join("certs/app.example.test.crt").exists());
    assert!(data_dir.join("certs/app.example.test.key").exists());
    // A name that is not bound gets no certificate: the handshake fails.
    assert!(pebble::https_get(https, "other.example.test", "/", &root)
        .await
        .is_err());

    provisioner.stop().await;
    for k in keepers {
        k.stop().await;
    }
    core.stop().await;
    localnet.stop();
}
