//! `aether lb`: the load balancer in front of the resource nodes.

use aether_keeper::settings::Flags;
use anyhow::{Context, Result};
use clap::Args;

/// The load balancer's settings are its `Config` (`aether_lb::Config`):
/// flags over `AETHER_LB_*` variables over `--config` over the defaults.
#[derive(Debug, Args)]
pub struct LbCmd {
    #[command(flatten)]
    pub settings: Flags<aether_lb::Config>,
}

impl LbCmd {
    pub fn execute(self) -> Result<()> {
        let config = self.settings.load()?;
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
