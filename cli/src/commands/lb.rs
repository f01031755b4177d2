//! `aether lb`: the load balancer in front of the resource nodes.

use std::net::IpAddr;

use anyhow::{Context, Result};
use clap::Args;

#[derive(Debug, Args)]
pub struct LbCmd {
    /// The core node whose `aether-serving` announcements say who serves what
    #[arg(long, env = "AETHER_NODE_URL", default_value = "http://127.0.0.1:4024")]
    pub node_url: String,
    /// JSON-RPC URL of the cluster (node records, scores, domains)
    #[arg(long, env = "AETHER_RPC_URL", default_value = "http://127.0.0.1:8899")]
    pub rpc_url: String,
    /// Port to serve on
    #[arg(long, env = "AETHER_LB_PORT", default_value_t = aether_lb::DEFAULT_PORT)]
    pub port: u16,
    /// Address to bind
    #[arg(long, env = "AETHER_LB_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Seconds a failed node is skipped
    #[arg(long, default_value_t = 10)]
    pub rest_seconds: u64,
    /// Lowest score (0 to 10,000) of a node asked to start a program
    #[arg(long, default_value_t = 0)]
    pub min_score: u16,
    /// Requests in flight per serving node past which one more node is asked
    #[arg(long, default_value_t = 8)]
    pub scale_inflight: usize,
    /// Milliseconds of answer time (moving average) past which one more node is asked
    #[arg(long, default_value_t = 5000)]
    pub scale_latency_ms: u64,
    /// Least seconds between two asks for one program
    #[arg(long, default_value_t = 30)]
    pub place_cooldown_seconds: u64,
}

impl LbCmd {
    pub fn execute(self) -> Result<()> {
        for (flag, url) in [("--node-url", &self.node_url), ("--rpc-url", &self.rpc_url)] {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "{flag} {url}: an http:// or https:// URL"
            );
        }
        let mut config = aether_lb::Config::new(self.node_url, self.rpc_url);
        config.port = self.port;
        config.bind = self.bind;
        config.rest = std::time::Duration::from_secs(self.rest_seconds);
        anyhow::ensure!(self.min_score <= 10_000, "--min-score is at most 10000");
        anyhow::ensure!(
            self.scale_inflight > 0,
            "--scale-inflight must be at least 1"
        );
        config.min_score = self.min_score;
        config.scale_inflight = self.scale_inflight;
        config.scale_latency = std::time::Duration::from_millis(self.scale_latency_ms);
        config.place_cooldown = std::time::Duration::from_secs(self.place_cooldown_seconds);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let ready = |lb: &aether_lb::LoadBalancer| {
            let url = lb.url();
            eprintln!(
                "load balancer ready: {url}/vm/<item_hash>/…  routes {url}/about/routes  (Ctrl-C stops it)"
            );
        };
        let stopping = async {
            crate::shutdown_signal().await;
            eprintln!("load balancer stopping");
        };
        runtime
            .block_on(aether_lb::run(config, ready, stopping))
            .context("load balancer")
    }
}
