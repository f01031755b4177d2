//! What a node is told at start.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// The port Aleph core nodes serve their API on.
pub const DEFAULT_PORT: u16 = 4024;

/// A core node's configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on (loopback unless told otherwise).
    pub bind: IpAddr,
    /// Port of the HTTP API; 0 picks a free one.
    pub port: u16,
    /// Where the SQLite file and the content store live.
    pub data_dir: PathBuf,
    /// Largest file accepted by upload, in bytes.
    pub max_file_size: u64,
    /// Largest request body for a message, in bytes.
    pub max_message_size: usize,
    /// Messages committed together at most (one SQLite transaction).
    pub max_batch: usize,
    /// Longest a request other than an upload may take, body included; a
    /// client slower than this gets 408.
    pub request_timeout: std::time::Duration,
    /// How often unpinned files are collected.
    pub gc_interval: std::time::Duration,
    /// How long a file no message pins is kept (a STORE may follow its upload).
    pub gc_grace: std::time::Duration,
    /// Base URLs of peer nodes.
    pub peers: Vec<String>,
    /// Rebuild from the chain and the peers when the database is empty.
    pub resync: Option<crate::resync::ResyncConfig>,
    /// Anchoring on chain; off when `None`.
    pub anchoring: Option<crate::anchoring::AnchorConfig>,
    /// Paying by holding tokens; everything is free when `None`.
    pub charging: Option<crate::charging::ChargingConfig>,
    /// Deadline on request headers and connections per source address.
    pub connections: aether_keeper::ConnectionLimits,
}

impl Config {
    /// Local defaults under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            data_dir: data_dir.into(),
            max_file_size: 1024 * 1024 * 1024,
            max_message_size: 1024 * 1024,
            max_batch: 512,
            request_timeout: std::time::Duration::from_secs(30),
            gc_interval: std::time::Duration::from_secs(3600),
            gc_grace: std::time::Duration::from_secs(3600),
            peers: Vec::new(),
            resync: None,
            anchoring: None,
            charging: None,
            connections: aether_keeper::ConnectionLimits::default(),
        }
    }

    /// The socket address to listen on.
    pub fn listen(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }
}

/// `~/.local/share/aether/node` (or `$XDG_DATA_HOME/aether/node`).
pub fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("aether/node")
}
