//! The `aether stream` and `aether anchors` commands against a real localnet,
//! as a user would run them, with keypair files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aether_cli::{Cli, Command};
use aether_localnet::{Config, Localnet};
use aether_registry::state::Capacity;
use aether_registry::{RegisterCoreNodeArgs, RegisterResourceNodeArgs};
use aether_sdk::programs::{anchors, registry, staking};
use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address;
use clap::Parser;
use serde_json::Value;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::{write_keypair_file, Keypair};
use solana_rpc_client::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;

fn run(args: &[&str]) -> anyhow::Result<Value> {
    let mut all = vec!["aether"];
    all.extend_from_slice(args);
    match Cli::try_parse_from(all)?.command {
        Command::Stream(cmd) => cmd.run(),
        Command::Anchors(cmd) => cmd.run(),
        other => panic!("not a chain command: {other:?}"),
    }
}

fn send(
    rpc: &RpcClient,
    ixs: &[anchor_lang::solana_program::instruction::Instruction],
    signers: &[&Keypair],
) {
    let tx = Transaction::new_signed_with_payer(
        ixs,
        Some(&signers[0].pubkey()),
        signers,
        rpc.get_latest_blockhash().unwrap(),
    );
    rpc.send_and_confirm_transaction(&tx)
        .expect("setup transaction");
}

fn key_file(dir: &Path, name: &str, key: &Keypair) -> String {
    let path: PathBuf = dir.join(format!("{name}.json"));
    write_keypair_file(key, &path).unwrap();
    path.display().to_string()
}

#[test]
fn streams_and_anchors_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("aether-cli-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (user, provider_owner, core_op) = (Keypair::new(), Keypair::new(), Keypair::new());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = Config {
        rpc_port: aether_localnet::free_port_pair().expect("a free port pair on loopback"),
        slot_ms: 100,
        bootstrap: true,
        fund: vec![user.pubkey(), provider_owner.pubkey(), core_op.pubkey()],
        ledger: Some(dir.join("ledger")),
        ..Config::default()
    };
    let localnet = rt.block_on(Localnet::start(config)).expect("localnet");
    let report = rt
        .block_on(aether_localnet::bootstrap(
            localnet.config(),
            &localnet.key_dir(),
        ))
        .unwrap();
    let url = localnet.rpc_url();
    let rpc = RpcClient::new_with_commitment(url.clone(), CommitmentConfig::confirmed());
    let mint: Pubkey = report.stake_mint.parse().unwrap();

    // A core node and a resource node under it, as their runners would register them.
    let core_tokens = get_associated_token_address(&core_op.pubkey(), &mint);
    send(
        &rpc,
        &[staking::create_node(
            core_op.pubkey(),
            mint,
            core_tokens,
            Default::default(),
            200_000_000_000,
        )],
        &[&core_op],
    );
    let core_args = RegisterCoreNodeArgs {
        endpoint: "http://127.0.0.1:4024".into(),
        p2p_address: "/ip4/127.0.0.1/tcp/4025".into(),
    };
    send(
        &rpc,
        &[registry::register_core_node(core_op.pubkey(), core_args)],
        &[&core_op],
    );
    let identity = Keypair::new();
    let parent = registry::record(&staking::node(&core_op.pubkey()));
    let crn_args = RegisterResourceNodeArgs {
        endpoint: "http://127.0.0.1:4020".into(),
        capacity: Capacity {
            vcpus: 2,
            memory_mib: 2_048,
            disk_gib: 20,
        },
        min_price_compute_per_second: 1,
        min_price_storage_per_gb_month: 1,
    };
    send(
        &rpc,
        &[registry::register_resource_node(
            provider_owner.pubkey(),
            identity.pubkey(),
            parent,
            core_op.pubkey(),
            crn_args,
        )],
        &[&provider_owner, &identity, &core_op],
    );
    let record = registry::record(&identity.pubkey()).to_string();

    let user_file = key_file(&dir, "user", &user);
    let provider_file = key_file(&dir, "provider", &provider_owner);
    let as_user = |args: &[&str]| {
        let mut all = vec!["stream", "--url", &url, "--keypair", &user_file];
        all.extend_from_slice(args);
        run(&all)
    };
    let resource = "ab".repeat(32);
    let opened = as_user(&[
        "open",
        "--resource",
        &resource,
        "--rate",
        "10",
        "--deposit",
        "100000",
        "--allow",
        &record,
    ])
    .unwrap();
    assert_eq!(opened["deposited"], 100_000);
    assert_eq!(opened["serve"], "allowlist");
    assert_eq!(opened["allowed"][0], record.as_str());
    assert_eq!(opened["vault_balance"], 100_000);
    let stream = opened["stream"].as_str().unwrap().to_owned();

    let joined = run(&[
        "stream",
        "--url",
        &url,
        "--keypair",
        &provider_file,
        "join",
        "--stream",
        &stream,
        "--provider",
        &record,
    ])
    .unwrap();
    assert_eq!(joined["providers"][0]["record"], record.as_str());
    std::thread::sleep(Duration::from_millis(2_500));
    let settled = as_user(&["settle", "--stream", &stream]).unwrap();
    let paid = settled["paid_out"].as_u64().unwrap();
    assert!(paid >= 10, "at least a second's worth was paid: {settled}");
    assert_eq!(settled["vault_balance"].as_u64().unwrap(), 100_000 - paid);
    let topped = as_user(&["top-up", "--stream", &stream, "--amount", "500"]).unwrap();
    assert_eq!(topped["deposited"], 100_500);
    let shown = as_user(&["show", "--stream", &stream]).unwrap();
    assert_eq!(shown["resource"], resource.as_str());
    let closed = as_user(&["close", "--stream", &stream]).unwrap();
    assert_eq!(closed["closed"], true);
    assert!(rpc.get_account(&stream.parse().unwrap()).is_err(), "closed");

    // Bad input: named, and nothing sent.
    let err = as_user(&["open", "--resource", "xyz", "--rate", "1", "--deposit", "1"]).unwrap_err();
    assert!(format!("{err:#}").contains("hex"), "{err:#}");
    let open = [
        "open",
        "--resource",
        &resource,
        "--rate",
        "1",
        "--deposit",
        "1",
    ];
    let err = as_user(&open).unwrap_err();
    assert!(format!("{err:#}").contains("who may serve"), "{err:#}");
    let err =
        as_user(&[&open[..], &["--kind", "storage", "--min-score", "0"]].concat()).unwrap_err();
    assert!(format!("{err:#}").contains("--size-bytes"), "{err:#}");
    let err = run(&[
        "stream",
        "--url",
        &url,
        "--keypair",
        "/no/such.json",
        "show",
        "--stream",
        &stream,
    ])
    .unwrap_err();
    assert!(format!("{err:#}").contains("/no/such.json"), "{err:#}");

    // Anchors: the bootstrap authority anchors a batch; the CLI checks a message in it.
    let authority = solana_keypair::read_keypair_file(&report.authority_keypair).unwrap();
    let items: Vec<String> = (0..5).map(|i| format!("{:064x}", i + 1)).collect();
    let leaves: Vec<_> = items
        .iter()
        .map(|i| anchors::merkle::leaf_hash(i.as_bytes()))
        .collect();
    let root = anchors::merkle::root(&leaves).unwrap();
    send(
        &rpc,
        &[anchors::submit_batch_allowlisted(
            authority.pubkey(),
            root,
            5,
            b"cid".to_vec(),
        )],
        &[&authority],
    );
    let anchorer = authority.pubkey().to_string();
    let shown = run(&[
        "anchors",
        "--url",
        &url,
        "--keypair",
        &user_file,
        "show",
        "--submitter",
        &anchorer,
    ])
    .unwrap();
    assert_eq!(shown["last_seq"], 1);
    assert_eq!(shown["batches"][0]["count"], 5);
    assert_eq!(shown["batches"][0]["submitter"], anchorer.as_str());
    // The user anchored nothing: it has no log.
    let none = run(&["anchors", "--url", &url, "--keypair", &user_file, "show"]).unwrap_err();
    assert!(format!("{none:#}").contains("batch log"), "{none:#}");
    let proof = anchors::merkle::proof(&leaves, 3).unwrap();
    let siblings: Vec<String> = proof
        .siblings
        .iter()
        .map(|s| s.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    let proof_file = dir.join("proof.json");
    std::fs::write(
        &proof_file,
        serde_json::json!({"submitter": anchorer, "seq": 1, "index": 3, "siblings": siblings})
            .to_string(),
    )
    .unwrap();
    let proof_path = proof_file.display().to_string();
    let verify = |item: &str| {
        run(&[
            "anchors",
            "--url",
            &url,
            "--keypair",
            &user_file,
            "verify",
            "--item",
            item,
            "--proof",
            &proof_path,
        ])
        .unwrap()
    };
    let ok = verify(&items[3]);
    assert_eq!(ok["included"], true, "{ok}");
    let forged = verify(&items[2]);
    assert_eq!(forged["included"], false);
    assert!(
        forged["on_chain_error"].is_string(),
        "the program refuses it too: {forged}"
    );

    localnet.stop();
    let _ = std::fs::remove_dir_all(dir);
}
