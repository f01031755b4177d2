//! The settler's settings: the only place their defaults are written.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use aether_keeper::settings::{self, Invalid, Settings};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Port of the settler's HTTP API (`/metrics`, `/settlements`) unless configured.
pub const DEFAULT_PORT: u16 = 4031;

/// Everything the settler needs. `Default` gives the defaults: the
/// localnet, the Solana CLI's keypair, every 10 s, at 1 token (1,000,000
/// base units) or after an hour, up to 8 streams per transaction.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// JSON-RPC URL of the cluster.
    pub rpc_url: String,
    /// The keypair that pays the fees (Solana CLI format).
    pub keypair: PathBuf,
    /// The SQLite file where each settlement it sent is logged.
    #[serde(rename = "db")]
    pub db_path: PathBuf,
    /// Address of the HTTP API (/metrics, /settlements).
    pub bind: IpAddr,
    /// Port of the HTTP API; 0 picks a free one.
    pub port: u16,
    /// Seconds between looks at the streams.
    #[serde(with = "settings::secs")]
    #[schemars(with = "u64")]
    pub interval: Duration,
    /// Settle a stream once this much has accrued, all providers
    /// together, in base units.
    pub threshold: u64,
    /// Settle a stream whose last settlement is this many seconds old, if
    /// anything has accrued.
    #[serde(with = "settings::secs")]
    #[schemars(with = "u64")]
    pub period: Duration,
    /// Streams settled per transaction at most (fewer when they do not fit).
    #[serde(rename = "max_per_tx")]
    pub max_streams_per_tx: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rpc_url: settings::LOCALNET_RPC.into(),
            keypair: settings::default_keypair(),
            db_path: settings::default_dir("settler").join("settler.sqlite"),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            interval: Duration::from_secs(10),
            threshold: 1_000_000,
            period: Duration::from_secs(3600),
            max_streams_per_tx: 8,
        }
    }
}

impl Config {
    /// The defaults, with the cluster at `rpc_url`, fees paid by `keypair`
    /// and the log at `db_path`.
    pub fn new(
        rpc_url: impl Into<String>,
        keypair: impl Into<PathBuf>,
        db_path: impl Into<PathBuf>,
    ) -> Self {
        Config {
            rpc_url: rpc_url.into(),
            keypair: keypair.into(),
            db_path: db_path.into(),
            ..Config::default()
        }
    }
}

impl Settings for Config {
    const NAME: &'static str = "SETTLER";

    fn check(&self) -> Result<(), Invalid> {
        settings::check_url("rpc_url", &self.rpc_url)?;
        settings::check_keypair("keypair", &self.keypair, "the settler pays fees from it")?;
        settings::check_at_least_one("interval", self.interval.as_secs())?;
        settings::check_at_least_one("max_per_tx", self.max_streams_per_tx as u64)
    }
}
