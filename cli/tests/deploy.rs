//! A dApp developer's commands against a real localnet and core node:
//! `aether file upload` stores a file; `aether program deploy` turns a
//! directory into a code volume, STOREs it, posts a PROGRAM and opens its
//! stream; bad arguments are refused with nothing posted.

use aether_cli::{Cli, Command};
use aether_sdk::message::Content;
use aether_sdk::node_client::{MessageStatus, NodeClient};
use clap::Parser;
use serde_json::Value;
use solana_signer::Signer;

fn run(args: &[&str]) -> anyhow::Result<Value> {
    let mut all = vec!["aether"];
    all.extend_from_slice(args);
    match Cli::try_parse_from(all)?.command {
        Command::Program(cmd) => cmd.run(),
        Command::File(cmd) => cmd.run(),
        other => panic!("not a developer command: {other:?}"),
    }
}

#[test]
fn upload_a_file_and_deploy_a_paid_program() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (localnet, _report, keys) = rt.block_on(aether_testing::chain_with_keys(1));
    let dir = tempfile::tempdir().unwrap();
    let core = rt.block_on(async {
        let mut config = aether_node::Config::new(dir.path().join("node"));
        config.port = 0;
        aether_node::Node::start(config).await.unwrap()
    });
    let keypair = dir.path().join("dapp.json");
    solana_keypair::write_keypair_file(&keys[0], &keypair).unwrap();
    let (url, node_url) = (localnet.rpc_url(), core.url());
    let common = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        for extra in [
            "--url",
            url.as_str(),
            "--node-url",
            node_url.as_str(),
            "--keypair",
            keypair.to_str().unwrap(),
        ] {
            all.push(extra.to_string());
        }
        all
    };
    let call = |args: &[&str]| {
        let all = common(args);
        run(&all.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let node = NodeClient::new(core.url());

    // A file.
    let page = dir.path().join("index.html");
    std::fs::write(&page, "<h1>shop</h1>").unwrap();
    let uploaded = call(&["file", "upload", page.to_str().unwrap()]).unwrap();
    let raw = rt.block_on(async {
        reqwest::get(uploaded["url"].as_str().unwrap())
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert_eq!(raw, "<h1>shop</h1>");
    let store = uploaded["store"].as_str().unwrap().to_string();
    assert_eq!(
        rt.block_on(node.message(&store)).unwrap().status,
        MessageStatus::Processed
    );

    // A program from a directory, paid for two replicas.
    let code = dir.path().join("code");
    std::fs::create_dir_all(code.join("www")).unwrap();
    std::fs::write(code.join("www/index.html"), "hi").unwrap();
    let deployed = call(&[
        "program",
        "deploy",
        "--code",
        code.to_str().unwrap(),
        "--entrypoint",
        "exec httpd -f -p 127.0.0.1:$PORT -h /code/www",
        "--memory",
        "128",
        "--env",
        "GREETING=hello",
        "--node-api",
        "--deposit",
        "1000000",
        "--replicas",
        "2",
        "--rate",
        "20",
    ])
    .unwrap();
    let hash = deployed["program"].as_str().unwrap().to_string();
    assert!(deployed["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/vm/{hash}/")));
    let found = rt.block_on(node.message(&hash)).unwrap();
    assert_eq!(found.status, MessageStatus::Processed);
    let Ok(Content::Program(program)) = found.message.unwrap().content() else {
        panic!("a PROGRAM");
    };
    assert_eq!(
        program.code.reference,
        deployed["code_store"].as_str().unwrap()
    );
    assert_eq!(program.resources.memory, 128);
    assert!(program.environment.aleph_api);
    assert_eq!(program.variables.unwrap()["GREETING"], "hello");
    let resource = aether_testing::resource_of(&hash);
    let chain = aether_testing::client(&localnet, &keys[0]);
    let stream = chain
        .stream(&keys[0].pubkey(), &resource)
        .unwrap()
        .expect("the stream is open");
    assert_eq!(
        (
            stream.replicas,
            stream.max_rate_per_second,
            stream.deposited
        ),
        (2, 20, 1_000_000)
    );

    // Refused, with nothing posted: missing code, a bad variable, no replicas.
    let before = rt
        .block_on(node.messages(&Default::default(), 1, 100))
        .unwrap()
        .messages
        .len();
    for (args, why) in [
        (
            vec!["--code", "/nonexistent", "--entrypoint", "x"],
            "no such file",
        ),
        (
            vec![
                "--code",
                code.to_str().unwrap(),
                "--entrypoint",
                "x",
                "--env",
                "NOEQUALS",
            ],
            "NAME=value",
        ),
        (
            vec![
                "--code",
                code.to_str().unwrap(),
                "--entrypoint",
                "x",
                "--replicas",
                "0",
            ],
            "at least 1",
        ),
    ] {
        let mut all = vec!["program", "deploy"];
        all.extend(args);
        let err = call(&all).unwrap_err();
        assert!(format!("{err:#}").contains(why), "{err:#}");
    }
    let after = rt
        .block_on(node.messages(&Default::default(), 1, 100))
        .unwrap()
        .messages
        .len();
    assert_eq!(before, after);
    rt.block_on(core.stop());
    localnet.stop();
}
