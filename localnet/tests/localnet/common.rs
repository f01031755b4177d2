use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;

use aether_localnet::{Config, Localnet};

/// A port whose successor is free too (RPC and WebSocket).
pub fn free_port_pair() -> u16 {
    for _ in 0..100 {
        let a = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = a.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind((Ipv4Addr::LOCALHOST, port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair on loopback");
}

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
        rpc_port: free_port_pair(),
        ledger,
        slot_ms: 100,
        bootstrap: true,
        fund,
        ..Config::default()
    };
    Localnet::start(config).await.expect("localnet starts")
}
