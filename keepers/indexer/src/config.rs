//! The indexer's settings: the only place their defaults are written.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use aether_keeper::settings::{self, Invalid, Settings};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Port of the indexer's HTTP API unless configured.
pub const DEFAULT_PORT: u16 = 4030;

/// Everything the indexer needs. `Default` gives the defaults: the
/// localnet, a scan every 2 s at least, live notifications on.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// JSON-RPC URLs of the cluster (repeatable, or comma-separated);
    /// requests go to a random healthy one.
    pub rpc_urls: Vec<String>,
    /// The SQLite file: events, derived tables and the cursors.
    #[serde(rename = "db")]
    pub db_path: PathBuf,
    /// Address of the HTTP API.
    pub bind: IpAddr,
    /// Port of the HTTP API; 0 picks a free one.
    pub port: u16,
    /// Scan for new transactions at least this often, in milliseconds,
    /// even when no `logsSubscribe` notification arrives.
    #[serde(rename = "poll_ms", with = "settings::millis")]
    #[schemars(with = "u64")]
    pub poll_interval: Duration,
    /// Follow `logsSubscribe` on each endpoint's WebSocket (its RPC port
    /// plus one) to scan as soon as a program is mentioned; false scans
    /// on the timer only.
    pub live: bool,
    /// Seconds an endpoint that failed or lagged is left out.
    #[serde(with = "settings::secs")]
    #[schemars(with = "u64")]
    pub rest: Duration,
    /// An endpoint more than this many slots behind the best is resting.
    pub max_lag_slots: u64,
    /// Transactions fetched at once during a scan.
    pub fetch_concurrency: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rpc_urls: vec![settings::LOCALNET_RPC.into()],
            db_path: settings::default_dir("indexer").join("indexer.sqlite"),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            poll_interval: Duration::from_secs(2),
            live: true,
            rest: Duration::from_secs(10),
            max_lag_slots: 150,
            fetch_concurrency: 8,
        }
    }
}

impl Config {
    /// The defaults, with the database at `db_path` and the cluster at
    /// `rpc_urls`.
    pub fn new(rpc_urls: Vec<String>, db_path: impl Into<PathBuf>) -> Self {
        Config {
            rpc_urls,
            db_path: db_path.into(),
            ..Config::default()
        }
    }
}

impl Settings for Config {
    const NAME: &'static str = "INDEXER";
    const FLAG_NAMES: &'static [(&'static str, &'static str)] = &[("rpc_urls", "rpc-url")];

    fn check(&self) -> Result<(), Invalid> {
        if self.rpc_urls.is_empty() {
            return Err(Invalid::new("rpc_url", "at least one URL"));
        }
        for url in &self.rpc_urls {
            settings::check_url("rpc_url", url)?;
        }
        if self.poll_interval < Duration::from_millis(10) {
            return Err(Invalid::new("poll_ms", "must be at least 10"));
        }
        settings::check_at_least_one("fetch_concurrency", self.fetch_concurrency as u64)
    }
}
