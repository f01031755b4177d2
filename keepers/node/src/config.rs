//! What a node is told at start.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use aether_keeper::settings::Invalid;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

/// The node's settings as `aether node run` takes them: one per flag,
/// `AETHER_NODE_*` variable and `--config` TOML key (see
/// `aether_keeper::settings`), turned into a [`Config`] by
/// [`Settings::into_config`]. Their defaults are the library's own.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Port of the HTTP API.
    pub port: u16,
    /// Address to bind.
    pub bind: IpAddr,
    /// Where the SQLite file and the content store live.
    pub data_dir: PathBuf,
    /// Largest file accepted by upload, in bytes.
    pub max_file_size: u64,
    /// A peer node's base URL (repeatable): messages are pushed to it, and
    /// files fetched from it on demand.
    pub peers: Vec<String>,
    /// On an empty database: rebuild from the batches anchored on this
    /// cluster (JSON-RPC URL), fetching their files from the peers.
    pub resync_from: Option<String>,
    /// JSON-RPC URL of the cluster the node anchors on and charges against.
    pub rpc_url: String,
    /// The node's Solana keypair; with it, the node anchors its messages on
    /// chain (it must be an active core node's operator or on the anchors
    /// allowlist). Without it, no anchoring.
    pub keypair: Option<PathBuf>,
    /// Seconds between anchored batches.
    #[serde(with = "aether_keeper::settings::secs")]
    #[schemars(with = "u64")]
    pub anchor_interval: Duration,
    /// Charge STORE, PROGRAM and INSTANCE messages against the sender's
    /// stake-token balance on the cluster (paying by holding).
    pub charge: bool,
    /// With charge: base units held per MiB stored.
    pub cost_per_mib_stored: u64,
    /// With charge: base units held per vCPU.
    pub cost_per_vcpu: u64,
    /// With charge: base units held per MiB of memory.
    pub cost_per_mib_memory: u64,
    /// With charge: seconds content over its owner's balance waits before
    /// it is collected.
    #[serde(with = "aether_keeper::settings::secs")]
    #[schemars(with = "u64")]
    pub collect_grace: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        let config = Config::new(default_data_dir());
        let rpc_url = aether_keeper::settings::LOCALNET_RPC;
        let anchoring = crate::anchoring::AnchorConfig::new(rpc_url, PathBuf::new());
        let charging = crate::charging::ChargingConfig::new(rpc_url);
        Settings {
            port: config.port,
            bind: config.bind,
            data_dir: config.data_dir,
            max_file_size: config.max_file_size,
            peers: config.peers,
            resync_from: None,
            rpc_url: rpc_url.into(),
            keypair: None,
            anchor_interval: anchoring.interval,
            charge: false,
            cost_per_mib_stored: charging.costs.per_mib_stored,
            cost_per_vcpu: charging.costs.per_vcpu,
            cost_per_mib_memory: charging.costs.per_mib_memory,
            collect_grace: charging.grace,
        }
    }
}

impl aether_keeper::settings::Settings for Settings {
    const NAME: &'static str = "NODE";
    const FLAG_NAMES: &'static [(&'static str, &'static str)] = &[("peers", "peer")];

    fn check(&self) -> Result<(), Invalid> {
        use aether_keeper::settings::{check_at_least_one, check_url};
        check_at_least_one("max_file_size", self.max_file_size)?;
        for peer in &self.peers {
            check_url("peer", peer)?;
        }
        check_url("rpc_url", &self.rpc_url)?;
        if let Some(url) = &self.resync_from {
            check_url("resync_from", url)?;
            if self.peers.is_empty() {
                return Err(Invalid::new(
                    "resync_from",
                    "needs at least one --peer to fetch batches from",
                ));
            }
        }
        if let Some(keypair) = &self.keypair {
            if !keypair.exists() {
                return Err(Invalid::new(
                    "keypair",
                    format!("{}: no such file", keypair.display()),
                ));
            }
            check_at_least_one("anchor_interval", self.anchor_interval.as_secs())?;
        }
        let plain = Settings::default();
        let priced = (
            self.cost_per_mib_stored,
            self.cost_per_vcpu,
            self.cost_per_mib_memory,
            self.collect_grace,
        ) != (
            plain.cost_per_mib_stored,
            plain.cost_per_vcpu,
            plain.cost_per_mib_memory,
            plain.collect_grace,
        );
        if priced && !self.charge {
            return Err(Invalid::new(
                "charge",
                "costs and --collect-grace need --charge",
            ));
        }
        Ok(())
    }
}

impl Settings {
    /// The [`Config`] these settings make.
    pub fn into_config(self) -> Config {
        let mut config = Config::new(self.data_dir);
        config.port = self.port;
        config.bind = self.bind;
        config.max_file_size = self.max_file_size;
        config.peers = self.peers;
        config.resync = self.resync_from.map(|rpc_url| crate::resync::ResyncConfig {
            rpc_url,
            retries: 5,
            progress: None,
        });
        config.anchoring = self.keypair.map(|keypair| {
            let mut anchoring = crate::anchoring::AnchorConfig::new(&self.rpc_url, keypair);
            anchoring.interval = self.anchor_interval;
            anchoring
        });
        if self.charge {
            let mut charging = crate::charging::ChargingConfig::new(&self.rpc_url);
            charging.costs.per_mib_stored = self.cost_per_mib_stored;
            charging.costs.per_vcpu = self.cost_per_vcpu;
            charging.costs.per_mib_memory = self.cost_per_mib_memory;
            charging.grace = self.collect_grace;
            config.charging = Some(charging);
        }
        config
    }
}
