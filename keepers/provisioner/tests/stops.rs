//! A provisioner stops serving a program, and frees its volume, when its
//! owner forgets the PROGRAM, and when the stream paying for it is closed.
//! No VM boots here: serving is vm-host knowing the program.

use std::time::Duration;

use aether_provisioner::Provisioner;
use aether_sdk::message::{ForgetBuilder, MessageBuilder};
use aether_testing::keepers::{self, Stage};
use aether_testing::{blocking, client, vm, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forgetting_the_program_or_closing_its_stream_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    // dApp, core operator, resource node owner.
    let Stage {
        localnet,
        keys,
        core,
        node,
        dapp,
    } = keepers::stage(3, dir.path()).await;
    // Two programs, each with its own stream.
    let mut programs = Vec::new();
    for (i, memory) in [128, 160].into_iter().enumerate() {
        let root = dir.path().join(format!("program{i}"));
        std::fs::create_dir_all(&root).unwrap();
        programs.push(vm::post_program(&node, &dapp, &root, memory).await.1);
    }
    let resources: Vec<[u8; 32]> = programs
        .iter()
        .map(|h| aether_testing::resource_of(h))
        .collect();
    let config = keepers::paid_provider_config(
        &localnet,
        &keys,
        &core,
        dir.path(),
        resources
            .iter()
            .map(|r| aether_testing::compute_stream(*r, 2, 1, 1_000_000))
            .collect(),
    )
    .await;
    let provisioner = keepers::start_provisioner(config).await;
    let serving = |p: &Provisioner| {
        let mut list: Vec<String> = p.serving().into_iter().map(|s| s.program).collect();
        list.sort();
        list
    };
    let mut both = programs.clone();
    both.sort();
    wait_until("both programs served", Duration::from_secs(60), || async {
        (serving(&provisioner) == both).then_some(())
    })
    .await;

    // The owner forgets the first PROGRAM.
    let forget = MessageBuilder::new(&dapp)
        .build(ForgetBuilder::new(vec![programs[0].clone()]))
        .unwrap();
    node.post_message(&forget, true).await.unwrap();
    wait_until(
        "the forgotten program to stop",
        Duration::from_secs(60),
        || async { (serving(&provisioner) == vec![programs[1].clone()]).then_some(()) },
    )
    .await;

    // The owner closes the second program's stream.
    let dapp_client = client(&localnet, &keys[0]);
    let resource = resources[1];
    blocking(move || dapp_client.close_stream(&resource).unwrap()).await;
    wait_until(
        "the unpaid program to stop",
        Duration::from_secs(60),
        || async { provisioner.serving().is_empty().then_some(()) },
    )
    .await;
    let (status, _) = {
        let r = reqwest::get(format!("{}/vm/{}/", provisioner.host_url(), programs[1]))
            .await
            .unwrap();
        (r.status().as_u16(), ())
    };
    assert_eq!(status, 404, "vm-host no longer knows it");
    assert_eq!(
        provisioner
            .metrics()
            .stopped
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    provisioner.stop().await;
    core.stop().await;
    localnet.stop();
}
