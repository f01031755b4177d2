//! The indexer's settings.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

/// Port of the indexer's HTTP API unless configured.
pub const DEFAULT_PORT: u16 = 4030;

/// Everything the indexer needs; [`Config::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// JSON-RPC URLs of the cluster; requests go to a random healthy one.
    pub rpc_urls: Vec<String>,
    /// The SQLite file: events, derived tables and the cursors.
    pub db_path: PathBuf,
    /// Address and port of the HTTP API.
    pub bind: IpAddr,
    /// Port of the HTTP API; 0 picks a free one.
    pub port: u16,
    /// Scan for new transactions at least this often, even when no
    /// `logsSubscribe` notification arrives.
    pub poll_interval: Duration,
    /// Follow `logsSubscribe` on each endpoint's WebSocket (its RPC port
    /// plus one) to scan as soon as a program is mentioned.
    pub live: bool,
    /// How long an endpoint that failed or lagged is left out.
    pub rest: Duration,
    /// An endpoint more than this many slots behind the best is resting.
    pub max_lag_slots: u64,
    /// Transactions fetched at once during a scan.
    pub fetch_concurrency: usize,
}

impl Config {
    /// The defaults, with the database at `db_path` and the cluster at
    /// `rpc_urls`.
    pub fn new(rpc_urls: Vec<String>, db_path: impl Into<PathBuf>) -> Self {
        Config {
            rpc_urls,
            db_path: db_path.into(),
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
