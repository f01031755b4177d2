use std::path::PathBuf;

use aether_localnet::{Config, Localnet};

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "aether-localnet-test-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Logs go to the test's output (shown on failure); RUST_LOG filters them.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,solana_runtime=warn".into()),
        )
        .with_test_writer()
        .try_init();
}

pub async fn start(ledger: Option<PathBuf>, fund: Vec<anchor_lang::prelude::Pubkey>) -> Localnet {
    init_logs();
    let config = Config {
        rpc_port: aether_localnet::free_port_pair().expect("a free port pair on loopback"),
        ledger,
        slot_ms: 100,
        bootstrap: true,
        fund,
        ..Config::default()
    };
    Localnet::start(config).await.expect("localnet starts")
}
