//! The Python reference client, aleph-sdk-python, works against our node:
//! posts, amends, aggregates, reads, files and FORGET, with SOL and ETH
//! accounts. Uses the virtualenv `scripts/test` prepares (`AETHER_PYTHON`
//! names another interpreter).

use std::path::PathBuf;

mod common;

fn python() -> PathBuf {
    let path = std::env::var_os("AETHER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/aether/pyenv/bin/python")
        });
    assert!(
        path.exists(),
        "{} is missing: run ./scripts/test (it makes the virtualenv with aleph-sdk-python), \
         or set AETHER_PYTHON",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_reference_client_works_against_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = common::start(dir.path()).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/aleph_client.py");
    let out = tokio::process::Command::new(python())
        .args([script, &node.url()])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("SOL ok") && stdout.contains("ETH ok"),
        "{stdout}"
    );
    node.stop().await;
}
