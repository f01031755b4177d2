//! The load balancer's settings.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Port of the load balancer unless configured.
pub const DEFAULT_PORT: u16 = 4040;

/// Everything the load balancer needs; [`Config::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// The core node whose announcements say who serves what.
    pub node_url: String,
    /// JSON-RPC URL of the cluster: node records, scores, domains.
    pub rpc_url: String,
    /// Address to listen on.
    pub bind: IpAddr,
    /// Port; 0 picks one.
    pub port: u16,
    /// How often routes are read again.
    pub refresh: Duration,
    /// How long a failed node is skipped.
    pub rest: Duration,
    /// How long a node may take to answer.
    pub timeout: Duration,
    /// Largest request or answer body relayed.
    pub max_body: usize,
    /// Lowest score of a node asked to start a program.
    pub min_score: u16,
    /// Requests in flight per serving node past which one more is asked.
    pub scale_inflight: usize,
    /// Answer time (moving average) past which one more node is asked.
    pub scale_latency: Duration,
    /// Least time between two asks for one program.
    pub place_cooldown: Duration,
}

impl Config {
    /// Defaults: routes every 2 s, a failed node skipped for 10 s, 120 s
    /// answers, 64 MiB bodies; any node may be asked to start a program;
    /// one more node past 8 requests in flight per node or 5 s answers, at
    /// most every 30 s.
    pub fn new(node_url: impl Into<String>, rpc_url: impl Into<String>) -> Config {
        Config {
            node_url: node_url.into(),
            rpc_url: rpc_url.into(),
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
