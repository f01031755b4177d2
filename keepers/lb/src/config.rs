//! The load balancer's settings: the only place their defaults are written.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use aether_keeper::settings::{self, Invalid, Settings};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Port of the load balancer unless configured.
pub const DEFAULT_PORT: u16 = 4040;

/// Everything the load balancer needs. `Default` gives the defaults: the
/// local core node and localnet, routes every 2 s, a failed node skipped
/// for 10 s, 120 s answers, 64 MiB bodies; any node may be asked to start
/// a program; one more node past 8 requests in flight per node or 5 s
/// answers, at most every 30 s.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The core node whose `aether-serving` announcements say who serves what.
    pub node_url: String,
    /// JSON-RPC URL of the cluster: node records, scores, domains.
    pub rpc_url: String,
    /// Address to listen on.
    pub bind: IpAddr,
    /// Port to serve on; 0 picks one.
    pub port: u16,
    /// Seconds between reads of the routes.
    #[serde(rename = "refresh_seconds", with = "settings::secs")]
    #[schemars(with = "u64")]
    pub refresh: Duration,
    /// Seconds a failed node is skipped.
    #[serde(rename = "rest_seconds", with = "settings::secs")]
    #[schemars(with = "u64")]
    pub rest: Duration,
    /// Seconds a node may take to answer.
    #[serde(rename = "timeout_seconds", with = "settings::secs")]
    #[schemars(with = "u64")]
    pub timeout: Duration,
    /// Largest request or answer body relayed, in bytes.
    pub max_body: usize,
    /// Lowest score (0 to 10,000) of a node asked to start a program.
    pub min_score: u16,
    /// Requests in flight per serving node past which one more node is asked.
    pub scale_inflight: usize,
    /// Milliseconds of answer time (moving average) past which one more
    /// node is asked.
    #[serde(rename = "scale_latency_ms", with = "settings::millis")]
    #[schemars(with = "u64")]
    pub scale_latency: Duration,
    /// Least seconds between two asks for one program.
    #[serde(rename = "place_cooldown_seconds", with = "settings::secs")]
    #[schemars(with = "u64")]
    pub place_cooldown: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            node_url: "http://127.0.0.1:4024".into(),
            rpc_url: settings::LOCALNET_RPC.into(),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            refresh: Duration::from_secs(2),
            rest: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
            max_body: 64 * 1024 * 1024,
            min_score: 0,
            scale_inflight: 8,
            scale_latency: Duration::from_secs(5),
            place_cooldown: Duration::from_secs(30),
        }
    }
}

impl Config {
    /// The defaults, with the core node at `node_url` and the cluster at
    /// `rpc_url`.
    pub fn new(node_url: impl Into<String>, rpc_url: impl Into<String>) -> Config {
        Config {
            node_url: node_url.into(),
            rpc_url: rpc_url.into(),
            ..Config::default()
        }
    }
}

impl Settings for Config {
    const NAME: &'static str = "LB";

    fn check(&self) -> Result<(), Invalid> {
        settings::check_url("node_url", &self.node_url)?;
        settings::check_url("rpc_url", &self.rpc_url)?;
        if self.min_score > 10_000 {
            return Err(Invalid::new("min_score", "is at most 10000"));
        }
        settings::check_at_least_one("scale_inflight", self.scale_inflight as u64)?;
        settings::check_at_least_one("refresh_seconds", self.refresh.as_secs())?;
        settings::check_at_least_one("timeout_seconds", self.timeout.as_secs())?;
        settings::check_at_least_one("max_body", self.max_body as u64)
    }
}
