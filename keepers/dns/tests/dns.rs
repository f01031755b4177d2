//! Two core operators run dns keepers against a real DNS server on
//! loopback (hickory-server). A domain whose TXT record names its target
//! and owner goes live; wrong, ambiguous, oversized and missing records,
//! and a record naming the target under another owner, never do;
//! a resolver that never answers gets no vote; a record that changes
//! withdraws a live domain.

use std::sync::Arc;
use std::time::Duration;

use aether_dns::{check, Config, DnsKeeper};
use aether_sdk::programs::registry::txt_value;
use aether_sdk::registry_program::state::DomainStatus;
use aether_testing::dns::{self, txt};
use aether_testing::{blocking, chain_with_keys, client, wait_until};
use solana_signer::Signer;

const TARGET: [u8; 32] = [0xab; 32];
const OTHER: [u8; 32] = [0xcd; 32];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_a_record_naming_the_target_goes_live() {
    aether_testing::vm::logs();
    // Two core operators (quorum 2) and a dApp owner.
    let (localnet, _report, keys) = chain_with_keys(3).await;
    let owner_key = keys[2].pubkey();
    let target = txt_value(&TARGET, &owner_key);
    let other = txt_value(&OTHER, &owner_key);
    // The owner's target, but another key: what a squatter's request needs.
    let someone_else = txt_value(&TARGET, &solana_keypair::Keypair::new().pubkey());
    // Over the keeper's 1 KiB limit but within a UDP answer: rejected.
    let huge: Vec<String> = (0..11).map(|_| "x".repeat(100)).collect();
    // Too big for a UDP answer: read over TCP, and rejected.
    let enormous: Vec<String> = (0..20).map(|_| "x".repeat(100)).collect();
    let (resolver, zone) = dns::server(
        "example.test.",
        vec![
            txt("_aether.good.example.test.", vec![target.clone()]),
            txt("_aether.wrong.example.test.", vec![other.clone()]),
            txt("_aether.notyou.example.test.", vec![someone_else]),
            txt("_aether.huge.example.test.", huge),
            txt("_aether.enormous.example.test.", enormous),
            txt("_aether.two.example.test.", vec![target.clone()]),
            txt("_aether.two.example.test.", vec![other.clone()]),
        ],
    )
    .await;
    let domains = [
        "good.example.test",
        "wrong.example.test",
        "huge.example.test",
        "two.example.test",
        "missing.example.test",
        "enormous.example.test",
        "notyou.example.test",
    ];

    let operators = [client(&localnet, &keys[0]), client(&localnet, &keys[1])];
    let owner = client(&localnet, &keys[2]);
    blocking(move || {
        for (i, op) in operators.iter().enumerate() {
            aether_testing::register_core(op, &format!("http://core{i}.test")).unwrap();
        }
        for domain in domains {
            owner.request_domain(domain, TARGET).unwrap();
        }
    })
    .await;
    assert_eq!(
        aether_testing::next_epoch(&localnet, client(&localnet, &keys[0])).await,
        1
    );

    let dir = tempfile::tempdir().unwrap();
    let mut keepers = Vec::new();
    for (i, key) in keys[..2].iter().enumerate() {
        let keypair = dir.path().join(format!("operator{i}.json"));
        solana_keypair::write_keypair_file(key, &keypair).unwrap();
        let mut config = Config::new(
            localnet.rpc_url(),
            &keypair,
            resolver,
            dir.path().join(format!("dns{i}.sqlite")),
        );
        config.port = 0;
        config.interval = Duration::from_millis(300);
        config.timeout = Duration::from_secs(2);
        keepers.push(DnsKeeper::start(config).await.unwrap());
    }

    let reader = Arc::new(client(&localnet, &keys[2]));
    let statuses = |reader: Arc<aether_sdk::programs::client::AetherClient>| async move {
        blocking(move || {
            domains
                .iter()
                .map(|d| {
                    reader
                        .domain_binding(d, &owner_key)
                        .unwrap()
                        .unwrap()
                        .status
                })
                .collect::<Vec<_>>()
        })
        .await
    };
    let expected = vec![
        DomainStatus::Live,
        DomainStatus::Rejected,
        DomainStatus::Rejected,
        DomainStatus::Rejected,
        DomainStatus::Rejected,
        DomainStatus::Rejected,
        DomainStatus::Rejected,
    ];
    let seen = wait_until("every binding decided", Duration::from_secs(60), || {
        let reader = reader.clone();
        async move {
            let seen = statuses(reader).await;
            (!seen.contains(&DomainStatus::Pending)).then_some(seen)
        }
    })
    .await;
    assert_eq!(seen, expected);

    // Nothing more to say: the keepers stop spending fees.
    // Every decision took both votes: one per keeper per domain.
    let attestations = || -> u64 {
        keepers
            .iter()
            .map(|k| {
                k.metrics()
                    .attestations
                    .load(std::sync::atomic::Ordering::Relaxed)
            })
            .sum()
    };
    let sent = wait_until(
        "the keepers to count their votes",
        Duration::from_secs(10),
        || async {
            let sent = attestations();
            (sent == 14).then_some(sent)
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = attestations();
    assert_eq!(again, sent);

    // The record changes to name another target too: withdrawn.
    zone.upsert(txt("_aether.good.example.test.", vec![other]), 2)
        .await;
    let seen = wait_until(
        "the live domain to be withdrawn",
        Duration::from_secs(60),
        || {
            let reader = reader.clone();
            async move {
                let seen = statuses(reader).await;
                (seen[0] == DomainStatus::Withdrawn).then_some(seen)
            }
        },
    )
    .await;
    assert_eq!(seen[1..], expected[1..]);

    // A server that never answers: no verdict either way.
    let (_silent, _silent_tcp, silent_addr) = loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        if let Ok(tcp) = std::net::TcpListener::bind(addr) {
            break (udp, tcp, addr);
        }
    };
    let resolver = check::resolver(silent_addr, Duration::from_millis(500));
    let verdict = check::check(&resolver, "good.example.test", &target, 1024).await;
    assert!(matches!(verdict, check::Verdict::Unknown(_)), "{verdict:?}");
    assert_eq!(verdict.vote(), None);

    for keeper in keepers {
        keeper.stop().await;
    }
    localnet.stop();
}
