//! The checker's settings.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

/// Port of the checker's HTTP API (`/metrics`, `/scores`) unless configured.
pub const DEFAULT_PORT: u16 = 4032;

/// The small program every resource node is asked to serve, and what it
/// must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Its item hash: requests go to `/vm/<program>/<path>`.
    pub program: String,
    /// Path within the program, e.g. `/` or `/cgi-bin/check`.
    pub path: String,
    /// Text the answer must contain.
    pub expect: String,
}

/// Everything the checker needs; [`Config::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// JSON-RPC URL of the cluster.
    pub rpc_url: String,
    /// The core node operator's keypair: it signs the score reports.
    pub keypair: PathBuf,
    /// The SQLite file of probes and reports.
    pub db_path: PathBuf,
    /// Address of the HTTP API.
    pub bind: IpAddr,
    /// Port of the HTTP API; 0 picks a free one.
    pub port: u16,
    /// Time between probe rounds.
    pub interval: Duration,
    /// Probes of a node in an epoch before its score is reported.
    pub min_probes: u32,
    /// How long a probe request may take.
    pub probe_timeout: Duration,
    /// Most bytes of an answer read.
    pub max_answer_bytes: usize,
    /// The reference program; without it, scores leave it out.
    pub reference: Option<Reference>,
}

impl Config {
    /// The defaults: a round a minute, a report after 5 probes, 10 s per
    /// probe, no reference program.
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
            interval: Duration::from_secs(60),
            min_probes: 5,
            probe_timeout: Duration::from_secs(10),
            max_answer_bytes: 64 * 1024,
            reference: None,
        }
    }
}
