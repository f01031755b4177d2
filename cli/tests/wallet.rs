//! The wallet holder's and the node runner's commands against a real
//! localnet, with keypair files: `aether stake …`, `aether node register`,
//! `aether node score show`, `aether domain request|show`.

use std::path::Path;

use aether_cli::commands::node::NodeAction;
use aether_cli::{Cli, Command};
use clap::Parser;
use serde_json::Value;
use solana_keypair::{write_keypair_file, Keypair};
use solana_signer::Signer;

fn run(args: &[&str]) -> anyhow::Result<Value> {
    let mut all = vec!["aether"];
    all.extend_from_slice(args);
    match Cli::try_parse_from(all)?.command {
        Command::Stake(cmd) => cmd.run(),
        Command::Domain(cmd) => cmd.run(),
        Command::Node(cmd) => match cmd.action {
            NodeAction::Register(cmd) => cmd.run(),
            NodeAction::Score(cmd) => cmd.run(),
            other => panic!("not a chain command: {other:?}"),
        },
        other => panic!("not a chain command: {other:?}"),
    }
}

fn key_file(dir: &Path, name: &str, key: &Keypair) -> String {
    let path = dir.join(format!("{name}.json"));
    write_keypair_file(key, &path).unwrap();
    path.display().to_string()
}

#[test]
fn stake_register_score_and_domains_from_the_command_line() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (localnet, _report, keys) = rt.block_on(aether_testing::chain_with_keys(3));
    let url = localnet.rpc_url();
    let dir = tempfile::tempdir().unwrap();
    let (op, staker, owner) = (
        key_file(dir.path(), "operator", &keys[0]),
        key_file(dir.path(), "staker", &keys[1]),
        key_file(dir.path(), "owner", &keys[2]),
    );
    let identity = Keypair::new();
    let identity_file = key_file(dir.path(), "identity", &identity);
    let operator = keys[0].pubkey().to_string();
    let with = |key: &str, args: &[&str]| -> anyhow::Result<Value> {
        let mut all: Vec<&str> = args.to_vec();
        all.extend_from_slice(&["--url", &url, "--keypair", key]);
        run(&all)
    };

    // The operator creates its node; a staker stakes on it and asks some back.
    let node = with(&op, &["stake", "create-node", "--amount", "600000000000"]).unwrap();
    assert_eq!(node["total_stake"], 600_000_000_000u64);
    assert_eq!(node["status"], "Pending");
    let staked = with(
        &staker,
        &[
            "stake",
            "stake",
            "--operator",
            &operator,
            "--amount",
            "1000000",
        ],
    )
    .unwrap();
    assert_eq!(staked["position"]["amount"], 1_000_000);
    assert_eq!(staked["total_stake"], 600_001_000_000u64);
    let unstaking = with(
        &staker,
        &[
            "stake",
            "unstake",
            "--operator",
            &operator,
            "--amount",
            "400000",
        ],
    )
    .unwrap();
    assert_eq!(unstaking["position"]["unstaking"], 400_000);
    assert_eq!(unstaking["position"]["amount"], 600_000);
    // Before the cooldown, withdrawing is refused and nothing moves.
    assert!(with(&staker, &["stake", "withdraw", "--operator", &operator]).is_err());
    let shown = with(&staker, &["stake", "show", "--operator", &operator]).unwrap();
    assert_eq!(shown["position"]["unstaking"], 400_000);
    // Bad amounts are refused before anything is sent.
    let err = with(
        &staker,
        &["stake", "stake", "--operator", &operator, "--amount", "0"],
    )
    .unwrap_err();
    assert!(err.to_string().contains("more than 0"), "{err}");

    // The operator registers its core node; the owner a resource node under it.
    let core = with(
        &op,
        &[
            "node",
            "register",
            "core",
            "--endpoint",
            "http://core.test",
            "--p2p-address",
            "/ip4/127.0.0.1/tcp/4025",
        ],
    )
    .unwrap();
    assert_eq!(core["kind"], "Core");
    let register = [
        "node",
        "register",
        "resource",
        "--identity",
        &identity_file,
        "--parent-operator",
        &operator,
        "--endpoint",
        "http://crn.test",
        "--vcpus",
        "2",
        "--memory-mib",
        "2048",
        "--disk-gib",
        "20",
    ];
    // The core operator's consent is its signature: without it, nothing is sent.
    let err = with(&owner, &register).unwrap_err();
    assert!(format!("{err:#}").contains("must consent"), "{err:#}");
    let err = with(
        &owner,
        &[&register[..], &["--parent-keypair", &staker]].concat(),
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("not the parent operator"),
        "{err:#}"
    );
    let resource = with(
        &owner,
        &[&register[..], &["--parent-keypair", &op]].concat(),
    )
    .unwrap();
    assert_eq!(resource["kind"], "Resource");
    assert_eq!(resource["capacity"]["memory_mib"], 2048);
    let score = with(
        &owner,
        &[
            "node",
            "score",
            "show",
            "--node",
            &identity.pubkey().to_string(),
        ],
    )
    .unwrap();
    assert_eq!(
        (score["score"].clone(), score["scored"].clone()),
        (0.into(), false.into())
    );
    let core_score = with(&owner, &["node", "score", "show", "--node", &operator]).unwrap();
    assert_eq!(core_score["kind"], "Core");

    // The owner binds a domain; it is pending until core nodes attest it.
    let target = "ab".repeat(32);
    let bound = with(
        &owner,
        &[
            "domain",
            "request",
            "--domain",
            "App.Example.com",
            "--target",
            &target,
        ],
    )
    .unwrap();
    assert_eq!(bound["status"], "Pending");
    assert_eq!(bound["domain"], "app.example.com");
    // The record to set names the target and the owner (the proof that the
    // requester holds the domain).
    assert_eq!(
        bound["txt_record"],
        format!(
            "_aether.app.example.com TXT \"{target} {}\"",
            keys[2].pubkey()
        )
    );
    let text = aether_cli::output::render(
        &with(&owner, &["domain", "show", "--domain", "app.example.com"]).unwrap(),
        false,
    );
    assert!(text.contains("status: Pending"), "{text}");
    // Each requester has its own binding: the operator has none.
    let err = with(
        &owner,
        &[
            "domain",
            "show",
            "--domain",
            "app.example.com",
            "--owner",
            &operator,
        ],
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("never requested"), "{err:#}");
    // Malformed names and targets are refused.
    assert!(with(
        &owner,
        &["domain", "request", "--domain", "bad..com", "--target", &target]
    )
    .is_err());
    let err = with(
        &owner,
        &[
            "domain",
            "request",
            "--domain",
            "ok.example.com",
            "--target",
            "zz",
        ],
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("--target"), "{err:#}");
    assert!(with(&owner, &["domain", "show", "--domain", "never.example.com"]).is_err());
    localnet.stop();
}
