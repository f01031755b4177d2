//! Shared by the tests that need a chain: localnet, bootstrapped, and a
//! node anchoring on it.

use std::path::Path;
use std::time::Duration;

use aether_localnet::{BootstrapReport, Localnet};
use aether_node::anchoring::AnchorConfig;
use aether_node::{Config, Node};

/// A bootstrapped localnet on free ports.
#[allow(dead_code)] // not every test binary uses every helper
pub async fn chain() -> (Localnet, BootstrapReport) {
    chain_funding(Vec::new()).await
}

#[allow(unused_imports)]
pub use aether_testing::chain_funding;

/// A node in `dir` anchoring every 300 ms, batches of at most
/// `max_messages`, signed by the bootstrap authority (on the allowlist).
#[allow(dead_code)]
pub async fn anchoring_node(
    dir: &Path,
    localnet: &Localnet,
    report: &BootstrapReport,
    max_messages: usize,
) -> Node {
    anchoring_node_signed_by(dir, localnet, &report.authority_keypair, max_messages).await
}

/// A node in `dir` anchoring every 300 ms, signed by the key in `keypair`.
pub async fn anchoring_node_signed_by(
    dir: &Path,
    localnet: &Localnet,
    keypair: &Path,
    max_messages: usize,
) -> Node {
    let mut config = Config::new(dir);
    config.port = 0;
    config.anchoring = Some(AnchorConfig {
        rpc_url: localnet.rpc_url(),
        keypair: keypair.to_path_buf(),
        interval: Duration::from_millis(300),
        max_messages,
    });
    Node::start(config).await.unwrap()
}
