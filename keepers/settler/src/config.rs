//! The settler's settings.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

/// Port of the settler's HTTP API (`/metrics`, `/settlements`) unless configured.
pub const DEFAULT_PORT: u16 = 4031;

/// Everything the settler needs; [`Config::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// JSON-RPC URL of the cluster.
    pub rpc_url: String,
    /// The keypair that pays the fees (Solana CLI format).
    pub keypair: PathBuf,
    /// The SQLite file where each settlement it sent is logged.
    pub db_path: PathBuf,
    /// Address of the HTTP API.
    pub bind: IpAddr,
    /// Port of the HTTP API; 0 picks a free one.
    pub port: u16,
    /// How often streams are looked at.
    pub interval: Duration,
    /// Settle a stream once this much has accrued, all providers
    /// together, in base units.
    pub threshold: u64,
    /// Settle a stream whose last settlement is older than this, if
    /// anything has accrued.
    pub period: Duration,
    /// Streams settled per transaction at most (fewer when they do not fit).
    pub max_streams_per_tx: usize,
}

impl Config {
    /// The defaults: every 10 s, at 1 token (1,000,000 base units) or after
    /// an hour, up to 8 streams per transaction.
    pub fn new(
        rpc_url: impl Into<String>,
        keypair: impl Into<PathBuf>,
        db_path: impl Into<PathBuf>,
    ) -> Self {
        Config {
            rpc_url: rpc_url.into(),
            keypair: keypair.into(),
            db_path: db_path.into(),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            interval: Duration::from_secs(10),
            threshold: 1_000_000,
            period: Duration::from_secs(3600),
            max_streams_per_tx: 8,
        }
    }
}
