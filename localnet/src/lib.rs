//! A whole Solana cluster in one process, for Aether's local stack and tests.
//!
//! Surfpool (`surfpool-core`) serves the standard JSON-RPC and WebSocket
//! interfaces over LiteSVM, with SPL Token and Associated Token Account; this
//! crate adds Aether's programs as native builtins (the SBF toolchain is not
//! available here), runs it fully offline on loopback, keeps it in a ledger
//! directory when asked, and bootstraps the stake token and program configs.
//!
//! Layout: `config.rs` the [`Config`] shared by flags and files, `engine.rs`
//! Surfpool with our builtins, `bootstrap.rs` `--bootstrap`, `error.rs`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), aether_localnet::LocalnetError> {
//! let config = aether_localnet::Config { rpc_port: 18899, ..Default::default() };
//! let localnet = aether_localnet::Localnet::start(config).await?;
//! println!("JSON-RPC at {}", localnet.rpc_url());
//! localnet.stop();
//! # Ok(()) }
//! ```

mod bootstrap;
mod config;
mod engine;
mod error;

use std::future::Future;
use std::path::PathBuf;

pub use bootstrap::{bootstrap, BootstrapReport, Funded, DECIMALS, FUND_LAMPORTS, FUND_TOKENS};
pub use config::{free_port_pair, Config, DEFAULT_RPC_PORT, DEFAULT_SLOT_MS};
pub use error::LocalnetError;

/// A running localnet. Stops when dropped.
pub struct Localnet {
    config: Config,
    engine: engine::Engine,
}

impl Localnet {
    /// Starts Surfpool with our programs and waits until it answers.
    pub async fn start(config: Config) -> Result<Self, LocalnetError> {
        let engine = engine::Engine::start(&config).await?;
        Ok(Self { config, engine })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn rpc_url(&self) -> String {
        self.config.rpc_url()
    }

    pub fn ws_url(&self) -> String {
        self.config.ws_url()
    }

    /// Where `--bootstrap` keeps its keypair and report: the ledger, or a
    /// directory under the system's temp dir named after the port.
    pub fn key_dir(&self) -> PathBuf {
        self.config.ledger.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("aether-localnet-{}", self.config.rpc_port))
        })
    }

    /// Moves the cluster's clock forward to `unix_timestamp` (Surfpool's
    /// `surfnet_timeTravel`), so that epochs close and streams accrue
    /// without waiting for real time. Returns the slot reached.
    pub async fn time_travel(&self, unix_timestamp: i64) -> Result<u64, LocalnetError> {
        use solana_rpc_client_api::request::RpcRequest;
        let rpc = solana_rpc_client::nonblocking::rpc_client::RpcClient::new(self.rpc_url());
        // Surfpool takes the time in milliseconds.
        let millis = u64::try_from(unix_timestamp)
            .ok()
            .and_then(|s| s.checked_mul(1000))
            .ok_or_else(|| LocalnetError::Engine(format!("no such time: {unix_timestamp}")))?;
        let info: serde_json::Value = rpc
            .send(
                RpcRequest::Custom {
                    method: "surfnet_timeTravel",
                },
                serde_json::json!([{ "absoluteTimestamp": millis }]),
            )
            .await
            .map_err(|e| LocalnetError::Engine(format!("time travel: {e}")))?;
        Ok(info["absoluteSlot"].as_u64().unwrap_or_default())
    }

    /// Stops the servers and waits for them.
    pub fn stop(mut self) {
        self.engine.stop();
    }
}

impl Drop for Localnet {
    /// Without a ledger the chain lives in memory: the temporary key
    /// directory (bootstrap authority and report) goes with it.
    fn drop(&mut self) {
        if self.config.ledger.is_none() {
            let _ = std::fs::remove_dir_all(self.key_dir());
        }
    }
}

/// Runs a localnet until `shutdown` resolves: starts it, bootstraps it when
/// asked, calls `on_ready` (with the report, if bootstrapped), then waits.
pub async fn run(
    config: Config,
    on_ready: impl FnOnce(&Localnet, Option<&BootstrapReport>),
    shutdown: impl Future<Output = ()>,
) -> Result<(), LocalnetError> {
    let localnet = Localnet::start(config).await?;
    let report = if localnet.config.bootstrap {
        Some(bootstrap(&localnet.config, &localnet.key_dir()).await?)
    } else {
        None
    };
    on_ready(&localnet, report.as_ref());
    shutdown.await;
    tracing::info!("stopping the localnet");
    // Stopping joins threads: keep it off the async workers.
    tokio::task::spawn_blocking(move || localnet.stop())
        .await
        .map_err(|e| LocalnetError::Engine(e.to_string()))
}
