//! An INSTANCE is served always on: once its stream is joined its VM runs
//! with no request asked of it, outlives the idle timeout that stops
//! programs, runs `/etc/aether/start` from its own root file system (whose
//! changes survive a restart of the node), and stops, its disk deleted,
//! when its stream is closed. Real parts: localnet, a core node, QEMU.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aether_sdk::message::{InstanceBuilder, MessageBuilder};
use aether_testing::keepers::{self, Stage};
use aether_testing::{blocking, client, vm, wait_until};

/// A root file system: busybox, and a start script that counts its boots
/// on the root disk and serves them over HTTP.
fn rootfs_image(root: &Path) -> PathBuf {
    let dir = root.join("rootfs");
    for sub in ["bin", "etc/aether", "proc", "sys", "dev", "tmp", "var/www"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).unwrap();
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet)).unwrap();
        }
    }
    let start = dir.join("etc/aether/start");
    std::fs::write(
        &start,
        "#!/bin/sh\necho boot >> /var/boots\ncp /var/boots /var/www/boots.txt\necho \"instance $GREETING\" > /var/www/index.html\nexec httpd -f -p 127.0.0.1:$PORT -h /var/www\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&start, std::fs::Permissions::from_mode(0o755)).unwrap();
    let image = root.join("rootfs.ext4");
    aether_vm_host::volumes::code_volume_from_dir(&dir, &image, 64 << 20).unwrap();
    image
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The VMs `/about/usage` lists for `hash`: (name, always_on).
async fn vms(host_url: &str, hash: &str) -> Vec<(String, bool)> {
    let usage: serde_json::Value = reqwest::get(format!("{host_url}/about/usage"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    usage["vms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["program"] == hash)
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                v["always_on"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_runs_always_on_from_its_own_root_and_stops_when_unpaid() {
    let _one = vm::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    // dApp, core operator, resource node owner.
    let Stage {
        localnet,
        keys,
        core,
        node,
        dapp,
    } = keepers::stage(3, dir.path()).await;

    let store = vm::store_volume(&node, &dapp, &rootfs_image(dir.path())).await;
    let instance = MessageBuilder::new(&dapp)
        .build(
            InstanceBuilder::new(store.message.item_hash.clone(), 96)
                .memory_mib(192)
                .with(|c| {
                    c.variables = Some([("GREETING".to_string(), "hello".to_string())].into())
                }),
        )
        .unwrap();
    node.post_message(&instance, true).await.unwrap();
    let hash = instance.message.item_hash.clone();
    let resource = aether_testing::resource_of(&hash);

    let mut config = keepers::paid_provider_config(
        &localnet,
        &keys,
        &core,
        dir.path(),
        vec![aether_testing::compute_stream(resource, 2, 1, 1_000_000)],
    )
    .await;
    // A program idle this long would be stopped; an instance is not.
    config.host.limits.idle_timeout = Duration::from_secs(1);
    let volumes = config.host.data_dir.join("volumes").join(&hash);
    let provisioner = keepers::start_provisioner(config.clone()).await;
    let host_url = provisioner.host_url();

    // Up with no request asked of it.
    let first = wait_until("the instance's VM", Duration::from_secs(120), || async {
        vms(&host_url, &hash).await.into_iter().next()
    })
    .await;
    assert!(first.1, "listed as always on");
    let url = format!("{host_url}/vm/{hash}");
    assert_eq!(
        get(&format!("{url}/")).await,
        (200, "instance hello\n".into()),
        "its start script ran in its own root, with its variables"
    );
    assert_eq!(
        get(&format!("{url}/boots.txt")).await,
        (200, "boot\n".into())
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        vms(&host_url, &hash).await,
        vec![first.clone()],
        "the same VM runs past the idle timeout"
    );
    assert!(volumes.join("rootfs.ext4").exists());

    // A restart of the node boots it again from the same disk.
    provisioner.stop().await;
    let provisioner = keepers::start_provisioner(config).await;
    let host_url = provisioner.host_url();
    let url = format!("{host_url}/vm/{hash}");
    wait_until("the instance back", Duration::from_secs(120), || async {
        vms(&host_url, &hash).await.into_iter().next()
    })
    .await;
    assert_eq!(
        get(&format!("{url}/boots.txt")).await,
        (200, "boot\nboot\n".into()),
        "what the first boot wrote is still on its root disk"
    );

    // Unpaid: stopped, and its disk deleted.
    let dapp_client = client(&localnet, &keys[0]);
    blocking(move || dapp_client.close_stream(&resource).unwrap()).await;
    wait_until("the instance to stop", Duration::from_secs(60), || async {
        provisioner.serving().is_empty().then_some(())
    })
    .await;
    assert!(vms(&host_url, &hash).await.is_empty(), "no VM left");
    assert_eq!(get(&format!("{url}/")).await.0, 404);
    assert!(!volumes.exists(), "its root disk is deleted");
    provisioner.stop().await;
    core.stop().await;
    localnet.stop();
}
