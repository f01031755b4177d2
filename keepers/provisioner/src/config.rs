//! The provisioner's settings (`Config`) and their defaults.

use std::path::PathBuf;
use std::time::Duration;

use aether_sdk::anchor_lang::prelude::Pubkey;

/// Everything the provisioner needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The core node's base URL: PROGRAM and STORE messages, files, and
    /// where announcements go.
    pub node_url: String,
    /// JSON-RPC URL of the cluster.
    pub rpc_url: String,
    /// The resource node owner's keypair: joins streams, signs announcements.
    pub keypair: PathBuf,
    /// The resource node's identity key (its registry record's seed).
    pub identity: Pubkey,
    /// The vm-host this provisioner drives (started with it).
    pub host: aether_vm_host::Config,
    /// Time between rounds.
    pub interval: Duration,
    /// Where code volumes built for programs are kept.
    pub work_dir: PathBuf,
    /// Channel of the announcements.
    pub channel: String,
    /// Join streams only when a load balancer asks (`POST /serve/<hash>`),
    /// not on every round that finds one worth joining.
    pub on_demand: bool,
}

impl Config {
    /// Defaults: a round every 10 s, announcements on channel `aether-serving`.
    pub fn new(
        node_url: impl Into<String>,
        rpc_url: impl Into<String>,
        keypair: impl Into<PathBuf>,
        identity: Pubkey,
        host: aether_vm_host::Config,
    ) -> Self {
        let work_dir = host.data_dir.join("programs");
        Config {
            node_url: node_url.into(),
            rpc_url: rpc_url.into(),
            keypair: keypair.into(),
            identity,
            host,
            interval: Duration::from_secs(10),
            work_dir,
            channel: "aether-serving".into(),
            on_demand: false,
        }
    }
}
