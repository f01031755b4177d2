//! Shared by the tests that need a chain: localnet, bootstrapped, and a
//! node anchoring on it.

use std::path::Path;
use std::time::Duration;

use aether_localnet::{BootstrapReport, Localnet};
use aether_node::anchoring::AnchorConfig;
use aether_node::{Config, Node};

/// A bootstrapped localnet on free ports.
pub async fn chain() -> (Localnet, BootstrapReport) {
    let config = aether_localnet::Config {
        rpc_port: aether_localnet::free_port_pair().expect("a free port pair"),
        slot_ms: 100,
        bootstrap: true,
        ..aether_localnet::Config::default()
    };
    let localnet = Localnet::start(config).await.expect("localnet starts");
    let report = aether_localnet::bootstrap(localnet.config(), &localnet.key_dir())
        .await
        .expect("bootstrap");
    (localnet, report)
}

/// A node in `dir` anchoring every 300 ms, batches of at most
/// `max_messages`, signed by the bootstrap authority (on the allowlist).
pub async fn anchoring_node(
    dir: &Path,
    localnet: &Localnet,
    report: &BootstrapReport,
    max_messages: usize,
) -> Node {
    let mut config = Config::new(dir);
    config.port = 0;
    config.anchoring = Some(AnchorConfig {
        rpc_url: localnet.rpc_url(),
        keypair: report.authority_keypair.clone(),
        interval: Duration::from_millis(300),
        max_messages,
    });
    Node::start(config).await.unwrap()
}
