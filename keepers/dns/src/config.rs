//! The dns keeper's settings: the only place their defaults are written.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use aether_keeper::settings::{self, Invalid, Settings};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Port of the keeper's HTTP API unless configured.
pub const DEFAULT_PORT: u16 = 4033;

/// Everything the keeper needs. `Default` gives the defaults: the
/// localnet, the Solana CLI's keypair, the system's first nameserver, a
/// round every 30 s, 5 s per lookup, 1 KiB of TXT at most.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// JSON-RPC URL of the cluster.
    pub rpc_url: String,
    /// The core node operator's keypair: it signs the attestations.
    pub keypair: PathBuf,
    /// The DNS server asked (UDP, then TCP), ip:port: by default the first
    /// nameserver of /etc/resolv.conf (127.0.0.1:53 if it names none).
    pub resolver: SocketAddr,
    /// The SQLite log of checks.
    #[serde(rename = "db")]
    pub db_path: PathBuf,
    /// Address of the HTTP API (/metrics, /checks).
    pub bind: IpAddr,
    /// Port of the HTTP API; 0 picks a free one.
    pub port: u16,
    /// Seconds between rounds.
    #[serde(with = "settings::secs")]
    #[schemars(with = "u64")]
    pub interval: Duration,
    /// Seconds a lookup may take.
    #[serde(with = "settings::secs")]
    #[schemars(with = "u64")]
    pub timeout: Duration,
    /// Most bytes of TXT data accepted for one name.
    pub max_txt_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        let resolv_conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        Config {
            rpc_url: settings::LOCALNET_RPC.into(),
            keypair: settings::default_keypair(),
            resolver: system_resolver(&resolv_conf)
                .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53)),
            db_path: settings::default_dir("dns").join("dns.sqlite"),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            max_txt_bytes: 1024,
        }
    }
}

impl Config {
    /// The defaults, with the cluster at `rpc_url`, attestations signed by
    /// `keypair`, `resolver` asked and the log at `db_path`.
    pub fn new(
        rpc_url: impl Into<String>,
        keypair: impl Into<PathBuf>,
        resolver: SocketAddr,
        db_path: impl Into<PathBuf>,
    ) -> Self {
        Config {
            rpc_url: rpc_url.into(),
            keypair: keypair.into(),
            resolver,
            db_path: db_path.into(),
            ..Config::default()
        }
    }
}

impl Settings for Config {
    const NAME: &'static str = "DNS";

    fn check(&self) -> Result<(), Invalid> {
        settings::check_url("rpc_url", &self.rpc_url)?;
        settings::check_keypair(
            "keypair",
            &self.keypair,
            "attestations are signed by a core node operator",
        )?;
        settings::check_at_least_one("interval", self.interval.as_secs())?;
        settings::check_at_least_one("timeout", self.timeout.as_secs())
    }
}

/// The first `nameserver` of a resolv.conf, on port 53.
pub fn system_resolver(resolv_conf: &str) -> Option<SocketAddr> {
    resolv_conf.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some("nameserver"))
            .then(|| words.next()?.parse::<IpAddr>().ok())
            .flatten()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_system_resolver_is_the_first_nameserver() {
        let conf = "# comment\nsearch x\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n";
        assert_eq!(
            super::system_resolver(conf),
            Some("10.0.0.2:53".parse().unwrap())
        );
        assert_eq!(super::system_resolver("nameserver bogus\n"), None);
    }
}
