//! The whole story, against `aether up`'s cluster (two resource nodes),
//! with real parts only: the localnet, the core node's SQLite, QEMU guests,
//! a DNS server on loopback (hickory-server) and Debian's pebble as the
//! ACME server.
//!
//! With the SDK a dApp uploads a front-end file, posts documents, stores a
//! code volume, posts a PROGRAM and opens a stream for two replicas; both
//! resource nodes join and serve it; it answers through the load balancer
//! and through a custom domain over HTTPS; from inside the guest it posts
//! a message to the core node; time passes and both providers are paid;
//! closing the stream stops both VMs.

use std::sync::Arc;
use std::time::Duration;

use aether_cluster::{Cluster, Config, Ports, RuntimeSource};
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{
    AggregateBuilder, Interface, MessageBuilder, PostBuilder, ProgramBuilder, StoreBuilder,
};
use aether_sdk::node_client::{MessageFilter, MessageStatus, NodeClient, StorageEngine};
use aether_sdk::programs::client::AetherClient;
use aether_sdk::registry_program::state::DomainStatus;
use aether_testing::{blocking, dns, pebble, vm, wait_until};
use solana_signer::Signer;

const DOMAIN: &str = "shop.example.test";

/// The test program, plus a CGI script that forwards the request's body
/// (a signed message) to the core node the VM is granted. busybox's `nc`
/// in the guest may end the connection when its input ends, so a `sleep`
/// in the background holds the input open until the node has answered
/// (and closed), however long that takes, without the script waiting it out.
fn code_volume(root: &std::path::Path) -> std::path::PathBuf {
    let dir = vm::program_dir(root);
    let script = dir.join("www/cgi-bin/post");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nbody=$(cat)\nnode=${AETHER_NODE_URL#http://}\n\
         answer=$( (printf 'POST /api/v0/messages HTTP/1.0\\r\\nHost: %s\\r\\nContent-Type: application/json\\r\\nContent-Length: %s\\r\\n\\r\\n%s' \"$node\" \"${#body}\" \"$body\"; sleep 30 </dev/null 2>/dev/null &) | nc -w 5 \"$node\" 80 2>/dev/null | head -n 1)\n\
         echo \"core node: $answer\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let image = root.join("code.ext4");
    aether_vm_host::volumes::code_volume_from_dir(&dir, &image, 64 << 20).unwrap();
    image
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Requests `/about/usage` lists for `program` on a vm-host.
async fn vm_requests(host: &str, program: &str) -> Option<u64> {
    let (_, usage) = get(&format!("{host}/about/usage")).await;
    let usage: serde_json::Value = serde_json::from_str(&usage).unwrap();
    let vms: Vec<u64> = usage["vms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["program"] == program)
        .map(|v| v["requests"].as_u64().unwrap())
        .collect();
    (!vms.is_empty()).then(|| vms.iter().sum())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dapp_from_nothing_to_a_paid_function_behind_a_custom_domain() {
    let _vm = vm::one_at_a_time().await;
    vm::logs();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::task::spawn_blocking(vm::runtime).await.unwrap().dir;
    // The zone points the domain at this machine; pebble checks HTTP-01 on
    // the first resource node's router port.
    let (dns_addr, zone) = dns::server(
        "example.test.",
        vec![dns::a("shop.example.test.", "127.0.0.1".parse().unwrap())],
    )
    .await;
    // The second resource node's router takes the next port.
    let http_port = aether_localnet::free_port_pair().expect("two free ports");
    let pebble = pebble::start(&dir.path().join("pebble"), dns_addr, http_port).await;

    let mut config = Config::new(dir.path().join("aether"));
    config.ports = Ports {
        vm_host: http_port,
        https: Some(0),
        ..Ports::free()
    };
    config.slot_ms = 100;
    config.runtime = RuntimeSource::Dir(runtime);
    config.backend = aether_vm_host::BackendChoice::Qemu;
    config.interval = Duration::from_millis(500);
    config.resource_nodes = 2;
    // The checker's reference program would be a third VM: the story
    // needs no scores.
    config.reference = false;
    config.dns_resolver = Some(dns_addr);
    config.acme = Some(aether_vm_host::acme::AcmeConfig {
        directory: pebble.directory.clone(),
        ca_pem: Some(pebble.listener_ca.clone()),
        contact: Vec::new(),
        renew_before: Duration::from_secs(7 * 86_400),
    });
    let cluster = Cluster::start(config, &|step| eprintln!("up: {step}"))
        .await
        .expect("the cluster starts");
    let keys = cluster.keys().clone();
    let wallet = solana_keypair::read_keypair_file(&keys.wallet).unwrap();
    let dapp = SolanaAccount::from_bytes(&wallet.to_bytes()).unwrap();
    let chain = Arc::new(AetherClient::new(
        cluster.rpc_url(),
        wallet.insecure_clone(),
    ));
    let node = NodeClient::new(cluster.node_url());

    // The front end: a file, stored and served back.
    let page = dir.path().join("index.html");
    std::fs::write(&page, "<h1>the shop</h1>\n").unwrap();
    let file = node
        .upload_file(&page, StorageEngine::Storage, |_, _| {})
        .await
        .unwrap();
    let store = MessageBuilder::new(&dapp)
        .build(StoreBuilder::new(file.clone()).unwrap())
        .unwrap();
    assert_eq!(
        node.post_message(&store, true).await.unwrap(),
        MessageStatus::Processed
    );
    let (status, body) = get(&format!("{}/api/v0/storage/raw/{file}", cluster.node_url())).await;
    assert_eq!((status, body.as_str()), (200, "<h1>the shop</h1>\n"));

    // Documents: two posts and a settings aggregate, read back.
    for item in ["boots", "hats"] {
        let post = MessageBuilder::new(&dapp)
            .build(PostBuilder::new("product").content(serde_json::json!({ "name": item })))
            .unwrap();
        node.post_message(&post, true).await.unwrap();
    }
    let settings = MessageBuilder::new(&dapp)
        .build(AggregateBuilder::new(
            "settings",
            serde_json::json!({ "currency": "AET" }),
        ))
        .unwrap();
    node.post_message(&settings, true).await.unwrap();
    let posts = node
        .posts(
            &MessageFilter {
                types: vec!["product".into()],
                addresses: vec![wallet.pubkey().to_string()],
                ..Default::default()
            },
            1,
            10,
        )
        .await
        .unwrap();
    assert_eq!(posts.posts.len(), 2);
    let aggregates = node
        .aggregates(&wallet.pubkey().to_string(), &["settings"])
        .await
        .unwrap();
    assert_eq!(aggregates["settings"]["currency"], "AET");

    // The function: its code volume, its PROGRAM (with the core node's
    // API granted), and a stream for two replicas.
    let code_store = vm::store_volume(&node, &dapp, &code_volume(dir.path())).await;
    let program = MessageBuilder::new(&dapp)
        .build(
            ProgramBuilder::new(
                code_store.message.item_hash.clone(),
                vm::ENTRYPOINT,
                code_store.message.item_hash.clone(),
            )
            .memory_mib(192)
            .with(|c| {
                c.code.interface = Some(Interface::Binary);
                c.environment.aleph_api = true;
            }),
        )
        .unwrap();
    node.post_message(&program, true).await.unwrap();
    let hash = program.message.item_hash.clone();
    let resource = aether_testing::resource_of(&hash);
    let owners: Vec<solana_keypair::Keypair> = keys
        .resource_owners
        .iter()
        .map(|p| solana_keypair::read_keypair_file(p).unwrap())
        .collect();
    let balances = {
        let (chain, owners) = (
            chain.clone(),
            owners.iter().map(|k| k.pubkey()).collect::<Vec<_>>(),
        );
        move || {
            let (chain, owners) = (chain.clone(), owners.clone());
            blocking(move || {
                owners
                    .iter()
                    .map(|o| chain.token_balance(o).unwrap())
                    .collect::<Vec<u64>>()
            })
        }
    };
    let before = balances().await;
    {
        let chain = chain.clone();
        blocking(move || {
            chain
                .open_stream(aether_testing::compute_stream(resource, 10, 2, 1_000_000))
                .unwrap()
        })
        .await;
    }

    // Both resource nodes join and serve it.
    wait_until(
        "both nodes to serve the program",
        Duration::from_secs(60),
        || async {
            cluster
                .provisioners()
                .iter()
                .all(|p| p.serving().iter().any(|s| s.program == hash))
                .then_some(())
        },
    )
    .await;
    let lb = cluster.lb_url();
    wait_until(
        "the load balancer to route both",
        Duration::from_secs(60),
        || async {
            let (_, routes) = get(&format!("{lb}/about/routes")).await;
            let routes: serde_json::Value = serde_json::from_str(&routes).unwrap();
            (routes[&hash].as_array().map_or(0, Vec::len) == 2).then_some(())
        },
    )
    .await;
    // Requests alternate between the two (a node whose relay failed once
    // sits out a while: then more requests are sent, each answered).
    wait_until(
        "both nodes to take requests through the load balancer",
        Duration::from_secs(60),
        || async {
            for _ in 0..6 {
                let (status, body) = get(&format!("{lb}/vm/{hash}/")).await;
                assert_eq!((status, body.as_str()), (200, "hello from the guest\n"));
            }
            let mut all = true;
            for p in cluster.provisioners() {
                all &= vm_requests(&p.host_url(), &hash)
                    .await
                    .is_some_and(|n| n > 0);
            }
            all.then_some(())
        },
    )
    .await;

    // A custom domain: its TXT record set, then requested by the owner,
    // attested by the core operator's dns keeper, served over HTTPS with
    // pebble's certificate.
    zone.upsert(
        dns::txt(
            "_aether.shop.example.test.",
            vec![aether_sdk::programs::registry::txt_value(
                &resource,
                &chain.payer(),
            )],
        ),
        2,
    )
    .await;
    {
        let chain = chain.clone();
        blocking(move || chain.request_domain(DOMAIN, resource).unwrap()).await;
    }
    wait_until("the domain to go live", Duration::from_secs(60), || {
        let chain = chain.clone();
        async move {
            let binding = blocking(move || {
                let owner = chain.payer();
                chain.domain_binding(DOMAIN, &owner).unwrap()
            })
            .await;
            binding
                .filter(|b| b.status == DomainStatus::Live)
                .map(|_| ())
        }
    })
    .await;
    let https = cluster.https_addr().await.expect("HTTPS is served");
    let root = pebble::issuing_root(&pebble).await;
    let (status, body) = pebble::https_answer(https, DOMAIN, &root).await;
    // (A raw HTTP/1.1 read: the body may come chunked.)
    assert_eq!(status, 200);
    assert!(body.contains("hello from the guest\n"), "{body}");
    // The load balancer reads live bindings from the chain each refresh.
    let by_host = wait_until(
        "the domain through the load balancer",
        Duration::from_secs(30),
        || async {
            let answer = reqwest::Client::new()
                .get(format!("{lb}/"))
                .header("host", DOMAIN)
                .send()
                .await
                .unwrap();
            (answer.status() == 200).then_some(answer)
        },
    )
    .await;
    assert_eq!(by_host.text().await.unwrap(), "hello from the guest\n");

    // From inside the guest, a message reaches the core node.
    let note = MessageBuilder::new(&dapp)
        .build(PostBuilder::new("order").content(serde_json::json!({ "item": "boots" })))
        .unwrap();
    let body = serde_json::json!({ "message": note.message, "sync": true }).to_string();
    let answer = reqwest::Client::new()
        .post(format!("{lb}/vm/{hash}/cgi-bin/post"))
        .body(body)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(answer.contains(" 200"), "the guest's post: {answer}");
    assert_eq!(
        node.message(&note.message.item_hash).await.unwrap().status,
        MessageStatus::Processed
    );

    // Time passes: the settler pays both providers, the same share.
    let now = aether_testing::chain_time(&chain).await;
    cluster.localnet().time_travel(now + 4_000).await.unwrap();
    // A settlement may land between two balance reads (then one owner looks
    // paid and the other not yet): take a reading only when the stream is
    // the same before and after it and its `paid_out` is what they gained.
    let stream_now = {
        let (chain, me) = (chain.clone(), wallet.pubkey());
        move || {
            let chain = chain.clone();
            blocking(move || chain.stream(&me, &resource).unwrap().unwrap())
        }
    };
    let paid = wait_until("both providers paid", Duration::from_secs(60), || {
        let (before, balances, stream_now) = (before.clone(), balances.clone(), stream_now.clone());
        async move {
            let first = stream_now().await;
            let after = balances().await;
            let last = stream_now().await;
            let gains: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
            let settled = first.last_settled >= now + 4_000
                && (first.paid_out, first.last_settled) == (last.paid_out, last.last_settled);
            // Every unit paid went to them.
            (settled && gains.iter().all(|g| *g > 0) && gains.iter().sum::<u64>() == last.paid_out)
                .then_some(gains)
        }
    })
    .await;
    // The same rate each; the node that joined a moment later accrued a
    // moment less.
    let (high, low) = (paid[0].max(paid[1]), paid[0].min(paid[1]));
    assert!(high - low <= high / 100, "near-equal shares: {paid:?}");

    // Closing the stream stops both VMs.
    {
        let chain = chain.clone();
        blocking(move || chain.close_stream(&resource).unwrap()).await;
    }
    wait_until("both VMs to stop", Duration::from_secs(60), || async {
        let mut running = 0;
        for p in cluster.provisioners() {
            running += usize::from(vm_requests(&p.host_url(), &hash).await.is_some());
            running += usize::from(!p.serving().is_empty());
        }
        (running == 0).then_some(())
    })
    .await;
    let (status, _) = get(&format!("{lb}/vm/{hash}/")).await;
    assert_ne!(status, 200, "nothing serves a closed stream");
    cluster.stop().await;
}
