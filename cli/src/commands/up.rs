//! `aether up`: the whole cluster on this machine, in one process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use aether_cluster::{Config, Ports, RuntimeSource};
// The dns keeper's reading of resolv.conf, so that both agree.
use aether_dns::system_resolver as nameserver;
use aether_vm_host::BackendChoice;
use anyhow::Result;
use clap::Args;

/// Flags win over `AETHER_*` variables, which win over the defaults (each
/// part's usual port on 127.0.0.1).
#[derive(Debug, Args)]
pub struct UpCmd {
    /// Where everything is kept: keys, ledger, node, VMs, keepers' SQLite
    /// [default: ~/.local/share/aether]
    #[arg(long, env = "AETHER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// JSON-RPC port (WebSocket on the next one)
    #[arg(long, env = "AETHER_RPC_PORT", default_value_t = aether_localnet::DEFAULT_RPC_PORT)]
    pub rpc_port: u16,
    /// The core node's API port
    #[arg(long, env = "AETHER_NODE_PORT", default_value_t = aether_node::config::DEFAULT_PORT)]
    pub node_port: u16,
    /// The load balancer's port
    #[arg(long, env = "AETHER_LB_PORT", default_value_t = aether_lb::DEFAULT_PORT)]
    pub lb_port: u16,
    /// vm-host's router port
    #[arg(long, env = "AETHER_CRN_PORT", default_value_t = 4020)]
    pub crn_port: u16,
    /// vm-host's HTTPS port for custom domains (0: none)
    #[arg(long, env = "AETHER_CRN_HTTPS_PORT", default_value_t = 4443)]
    pub https_port: u16,
    /// Milliseconds per slot
    #[arg(long, env = "AETHER_SLOT_MS", default_value_t = aether_localnet::DEFAULT_SLOT_MS)]
    pub slot_ms: u64,
    /// A runtime built earlier (`aether crn build-runtime`) instead of
    /// building one
    #[arg(long, env = "AETHER_CRN_RUNTIME")]
    pub runtime: Option<PathBuf>,
    /// The static guest agent the runtime is built with [default:
    /// aether-guest beside this program]
    #[arg(long, env = "AETHER_GUEST_AGENT")]
    pub agent: Option<PathBuf>,
    /// A kernel package (.deb) instead of downloading linux-image-cloud-amd64
    #[arg(long, env = "AETHER_KERNEL_DEB")]
    pub kernel_deb: Option<PathBuf>,
    /// A static busybox for the guest
    #[arg(long, default_value = "/bin/busybox")]
    pub busybox: PathBuf,
    /// auto, qemu or cloud-hypervisor
    #[arg(long, env = "AETHER_CRN_BACKEND", default_value = "auto")]
    pub backend: BackendChoice,
    /// Also fund this keypair file or address with SOL and tokens
    /// (repeatable) [default: ~/.config/solana/id.json when it exists]
    #[arg(long, value_name = "KEYPAIR|ADDRESS")]
    pub fund: Vec<String>,
    /// The DNS server the dns keeper asks for `_aether.<domain>` TXT records
    /// [default: the first nameserver of /etc/resolv.conf]
    #[arg(long, env = "AETHER_DNS_RESOLVER", value_name = "IP:PORT")]
    pub dns_resolver: Option<SocketAddr>,
    /// Run no dns keeper
    #[arg(long, conflicts_with = "dns_resolver")]
    pub no_dns: bool,
    /// ACME directory for custom domains' certificates (HTTP-01 on the crn port)
    #[arg(long, env = "AETHER_CRN_ACME_DIRECTORY", value_name = "URL")]
    pub acme_directory: Option<String>,
    /// A PEM root to trust for the ACME directory (a test CA)
    #[arg(long, env = "AETHER_CRN_ACME_CA", value_name = "PEM")]
    pub acme_ca: Option<PathBuf>,
    /// Seconds between keeper rounds (provisioner, settler, dns)
    #[arg(long, default_value_t = 5)]
    pub interval: u64,
    /// Resource nodes to run, each with its own vm-host (the n-th, from 0,
    /// on the crn, HTTPS and provisioner ports plus n)
    #[arg(long, default_value_t = 1)]
    pub resource_nodes: usize,
    /// Post no reference program for the checker (scores then leave it out)
    #[arg(long)]
    pub no_reference: bool,
    /// The core node charges nothing (no paying by holding)
    #[arg(long)]
    pub free: bool,
    /// Seconds content over its owner's balance waits before collection
    #[arg(long, default_value_t = 3600)]
    pub collect_grace: u64,
}

impl UpCmd {
    /// The cluster's settings.
    pub fn resolve(&self) -> Result<Config> {
        let data_dir = self.data_dir.clone().unwrap_or_else(super::crn::data_home);
        let mut config = Config::new(data_dir);
        config.ports = Ports {
            rpc: self.rpc_port,
            node: self.node_port,
            vm_host: self.crn_port,
            https: (self.https_port != 0).then_some(self.https_port),
            lb: self.lb_port,
            ..Ports::default()
        };
        anyhow::ensure!(self.slot_ms > 0, "--slot-ms must be at least 1");
        config.slot_ms = self.slot_ms;
        anyhow::ensure!(self.interval > 0, "--interval must be at least 1 second");
        config.interval = Duration::from_secs(self.interval);
        config.backend = self.backend;
        if self.free {
            config.costs = None;
        }
        config.collect_grace = Duration::from_secs(self.collect_grace);
        anyhow::ensure!(
            (1..=8).contains(&self.resource_nodes),
            "--resource-nodes is 1 to 8"
        );
        config.resource_nodes = self.resource_nodes;
        config.reference = !self.no_reference;
        config.runtime = match &self.runtime {
            Some(dir) => RuntimeSource::Dir(dir.clone()),
            None => RuntimeSource::Build {
                agent: match &self.agent {
                    Some(agent) => agent.clone(),
                    None => match &config.runtime {
                        RuntimeSource::Build { agent, .. } => agent.clone(),
                        RuntimeSource::Dir(_) => unreachable!("the default builds"),
                    },
                },
                kernel_deb: self.kernel_deb.clone(),
                busybox: self.busybox.clone(),
            },
        };
        let mut fund = self.fund.clone();
        if fund.is_empty() {
            if let Some(home) = std::env::var_os("HOME") {
                let id = PathBuf::from(home).join(".config/solana/id.json");
                if id.exists() {
                    fund.push(id.display().to_string());
                }
            }
        }
        for arg in &fund {
            config.fund.push(super::localnet::address(arg)?);
        }
        config.dns_resolver = if self.no_dns {
            None
        } else {
            match self.dns_resolver {
                Some(addr) => Some(addr),
                None => {
                    nameserver(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default())
                }
            }
        };
        if let Some(directory) = &self.acme_directory {
            anyhow::ensure!(
                directory.starts_with("https://"),
                "--acme-directory {directory}: an https:// URL"
            );
            anyhow::ensure!(
                config.ports.https.is_some(),
                "--acme-directory needs an --https-port"
            );
            config.acme = Some(aether_vm_host::acme::AcmeConfig {
                directory: directory.clone(),
                ca_pem: self.acme_ca.clone(),
                contact: Vec::new(),
                renew_before: super::crn::RENEW_BEFORE,
            });
        }
        Ok(config)
    }

    pub fn execute(self) -> Result<()> {
        let config = self.resolve()?;
        // The programs' `msg!` lines go to the log, not into the summary.
        let (mut stdout, runtime) = crate::runtime::with_program_output()?;
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        let progress = |step: &str| {
            if bar.is_hidden() {
                eprintln!("  {step}");
            } else {
                bar.println(format!("  {step}"));
                bar.set_message(step.to_string());
            }
        };
        runtime.block_on(aether_cluster::run(
            config,
            &progress,
            |cluster| {
                bar.finish_and_clear();
                if let Err(e) = stdout.print(&cluster.summary()) {
                    tracing::warn!("could not print the summary: {e}");
                }
                eprintln!("the cluster is up (Ctrl-C stops it)");
            },
            crate::shutdown_signal(),
        ))?;
        eprintln!("the cluster stopped");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Command;

    fn parse(args: &[&str]) -> super::UpCmd {
        match crate::parse_command("up", args) {
            Command::Up(cmd) => cmd,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn defaults_are_each_parts_own_and_flags_override_them() {
        let config = parse(&["--data-dir", "/tmp/x", "--no-dns"])
            .resolve()
            .unwrap();
        assert_eq!(config.ports.rpc, 8899);
        assert_eq!(config.ports.node, 4024);
        assert_eq!(config.ports.lb, 4040);
        assert_eq!(config.ports.https, Some(4443));
        assert!(config.dns_resolver.is_none());
        let config = parse(&[
            "--data-dir",
            "/tmp/x",
            "--rpc-port",
            "9100",
            "--https-port",
            "0",
            "--dns-resolver",
            "127.0.0.1:5353",
        ])
        .resolve()
        .unwrap();
        assert_eq!(config.ports.rpc, 9100);
        assert_eq!(config.ports.https, None);
        assert_eq!(config.dns_resolver, Some("127.0.0.1:5353".parse().unwrap()));
        assert!(parse(&["--slot-ms", "0"]).resolve().is_err());
        assert!(parse(&["--acme-directory", "http://insecure"])
            .resolve()
            .is_err());
        assert!(parse(&["--fund", "not-a-key-or-file"]).resolve().is_err());
    }

    #[test]
    fn the_resolver_is_the_first_nameserver() {
        let conf = "# comment\nsearch example\nnameserver 10.0.0.2\nnameserver 1.1.1.1\n";
        assert_eq!(
            super::nameserver(conf),
            Some("10.0.0.2:53".parse().unwrap())
        );
        assert_eq!(
            super::nameserver("nameserver ::1\n"),
            Some("[::1]:53".parse().unwrap())
        );
        assert_eq!(super::nameserver("search x\n"), None);
    }
}
