//! `aether node`: the core channel node.

use std::net::IpAddr;
use std::path::PathBuf;

use aether_node::Config;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde::Deserialize;

#[derive(Debug, Args)]
pub struct NodeCmd {
    #[command(subcommand)]
    pub action: NodeAction,
}

#[derive(Debug, Subcommand)]
pub enum NodeAction {
    /// Run a core node: the message API, storage and documents
    Run(RunArgs),
    /// Register a core node (your staking node) or a resource node on chain
    Register(super::registry::RegisterCmd),
    /// A node's score
    Score(super::registry::ScoreCmd),
}

/// Flags win over `AETHER_*` variables, which win over `--config`, which
/// wins over the defaults.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Port of the HTTP API [default: 4024]
    #[arg(long, env = "AETHER_NODE_PORT")]
    pub port: Option<u16>,
    /// Address to bind [default: 127.0.0.1]
    #[arg(long, env = "AETHER_NODE_BIND")]
    pub bind: Option<IpAddr>,
    /// The SQLite file and the content store [default: ~/.local/share/aether/node]
    #[arg(long, env = "AETHER_NODE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Largest file accepted by upload, in bytes [default: 1 GiB]
    #[arg(long, env = "AETHER_NODE_MAX_FILE_SIZE", value_name = "BYTES")]
    pub max_file_size: Option<u64>,
    /// A peer node's base URL (repeatable): messages are pushed to it, and
    /// files fetched from it on demand
    #[arg(long = "peer", value_name = "URL")]
    pub peers: Vec<String>,
    /// On an empty database: rebuild from the batches anchored on this
    /// cluster (JSON-RPC URL), fetching their files from the --peer nodes
    #[arg(long, env = "AETHER_NODE_RESYNC_FROM", value_name = "RPC_URL")]
    pub resync_from: Option<String>,
    /// JSON-RPC URL of the cluster the node anchors on [default: http://127.0.0.1:8899]
    #[arg(long, env = "AETHER_RPC_URL")]
    pub rpc_url: Option<String>,
    /// The node's Solana keypair; with it, the node anchors its messages on
    /// chain (it must be an active core node's operator or on the anchors
    /// allowlist) [default: no anchoring]
    #[arg(long, env = "AETHER_NODE_KEYPAIR", value_name = "FILE")]
    pub keypair: Option<PathBuf>,
    /// Seconds between anchored batches [default: 10]
    #[arg(long, env = "AETHER_NODE_ANCHOR_INTERVAL", value_name = "SECS")]
    pub anchor_interval: Option<u64>,
    /// Charge STORE, PROGRAM and INSTANCE messages against the sender's
    /// stake-token balance on the --rpc-url cluster (paying by holding)
    #[arg(long, env = "AETHER_NODE_CHARGE")]
    pub charge: bool,
    /// With --charge: base units held per MiB stored [default: 1000]
    #[arg(long, value_name = "UNITS")]
    pub cost_per_mib_stored: Option<u64>,
    /// With --charge: base units held per vCPU [default: 1000000]
    #[arg(long, value_name = "UNITS")]
    pub cost_per_vcpu: Option<u64>,
    /// With --charge: base units held per MiB of memory [default: 1000]
    #[arg(long, value_name = "UNITS")]
    pub cost_per_mib_memory: Option<u64>,
    /// With --charge: seconds content over its owner's balance waits
    /// before it is collected [default: 86400]
    #[arg(long, value_name = "SECS")]
    pub collect_grace: Option<u64>,
    /// A TOML file with the same settings (keys: port, bind, data_dir,
    /// max_file_size, rpc_url, keypair, anchor_interval, peers, charge,
    /// cost_per_mib_stored, cost_per_vcpu, cost_per_mib_memory, collect_grace)
    #[arg(long, env = "AETHER_NODE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeFile {
    port: Option<u16>,
    bind: Option<IpAddr>,
    data_dir: Option<PathBuf>,
    max_file_size: Option<u64>,
    rpc_url: Option<String>,
    keypair: Option<PathBuf>,
    anchor_interval: Option<u64>,
    #[serde(default)]
    peers: Vec<String>,
    #[serde(default)]
    charge: bool,
    cost_per_mib_stored: Option<u64>,
    cost_per_vcpu: Option<u64>,
    cost_per_mib_memory: Option<u64>,
    collect_grace: Option<u64>,
}

impl RunArgs {
    /// The settings, merged in order of precedence.
    pub fn resolve(&self) -> Result<Config> {
        let file: NodeFile = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => NodeFile::default(),
        };
        let data_dir = self
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(aether_node::default_data_dir);
        let mut config = Config::new(data_dir);
        if let Some(port) = self.port.or(file.port) {
            config.port = port;
        }
        if let Some(bind) = self.bind.or(file.bind) {
            config.bind = bind;
        }
        if let Some(max) = self.max_file_size.or(file.max_file_size) {
            anyhow::ensure!(max > 0, "--max-file-size must be at least 1");
            config.max_file_size = max;
        }
        config.peers = if self.peers.is_empty() {
            file.peers
        } else {
            self.peers.clone()
        };
        for peer in &config.peers {
            anyhow::ensure!(
                peer.starts_with("http://") || peer.starts_with("https://"),
                "--peer {peer}: a peer is an http:// or https:// URL"
            );
        }
        if let Some(rpc_url) = &self.resync_from {
            anyhow::ensure!(
                !config.peers.is_empty(),
                "--resync-from needs at least one --peer to fetch batches from"
            );
            config.resync = Some(aether_node::resync::ResyncConfig {
                rpc_url: rpc_url.clone(),
                retries: 5,
                progress: None,
            });
        }
        if let Some(keypair) = self.keypair.clone().or(file.keypair) {
            let interval = self.anchor_interval.or(file.anchor_interval).unwrap_or(10);
            anyhow::ensure!(interval > 0, "--anchor-interval must be at least 1 second");
            anyhow::ensure!(
                keypair.exists(),
                "--keypair {}: no such file",
                keypair.display()
            );
            config.anchoring = Some(aether_node::anchoring::AnchorConfig {
                rpc_url: self
                    .rpc_url
                    .clone()
                    .or(file.rpc_url.clone())
                    .unwrap_or_else(|| "http://127.0.0.1:8899".into()),
                keypair,
                interval: std::time::Duration::from_secs(interval),
                max_messages: 10_000,
            });
        }
        let costs = [
            self.cost_per_mib_stored.or(file.cost_per_mib_stored),
            self.cost_per_vcpu.or(file.cost_per_vcpu),
            self.cost_per_mib_memory.or(file.cost_per_mib_memory),
        ];
        let grace = self.collect_grace.or(file.collect_grace);
        if self.charge || file.charge {
            let mut charging = aether_node::charging::ChargingConfig::new(
                self.rpc_url
                    .clone()
                    .or(file.rpc_url.clone())
                    .unwrap_or_else(|| "http://127.0.0.1:8899".into()),
            );
            let [stored, vcpu, memory] = costs;
            charging.costs.per_mib_stored = stored.unwrap_or(charging.costs.per_mib_stored);
            charging.costs.per_vcpu = vcpu.unwrap_or(charging.costs.per_vcpu);
            charging.costs.per_mib_memory = memory.unwrap_or(charging.costs.per_mib_memory);
            if let Some(secs) = grace {
                charging.grace = std::time::Duration::from_secs(secs);
            }
            config.charging = Some(charging);
        } else {
            anyhow::ensure!(
                costs.iter().all(Option::is_none) && grace.is_none(),
                "costs and --collect-grace need --charge"
            );
        }
        Ok(config)
    }
}

impl NodeCmd {
    pub fn execute(self) -> Result<()> {
        let args = match self.action {
            NodeAction::Run(args) => args,
            NodeAction::Register(cmd) => return cmd.execute(),
            NodeAction::Score(cmd) => return cmd.execute(),
        };
        let mut config = args.resolve()?;
        if let Some(resync) = config.resync.as_mut() {
            let bar = indicatif::ProgressBar::new(0).with_style(
                indicatif::ProgressStyle::with_template(
                    "resync {bar:30} {pos}/{len} batches, {msg} messages",
                )
                .expect("a valid template"),
            );
            resync.progress = Some(std::sync::Arc::new(move |done, total, messages| {
                bar.set_length(total);
                bar.set_position(done);
                bar.set_message(messages.to_string());
                if done == total {
                    bar.finish();
                }
            }));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let data_dir = config.data_dir.clone();
        let anchoring = config.anchoring.is_some();
        let charging = config.charging.as_ref().map(|c| c.costs);
        runtime
            .block_on(aether_node::run(
                config,
                |node| {
                    eprintln!(
                        "core node ready: API {}  data {}  anchoring {}  (Ctrl-C stops it)",
                        node.url(),
                        data_dir.display(),
                        if anchoring {
                            "on"
                        } else {
                            "off (no --keypair)"
                        }
                    );
                    match charging {
                        Some(c) => eprintln!(
                            "charging by holding: {} per MiB stored, {} per vCPU, {} per MiB of memory (base units)",
                            c.per_mib_stored, c.per_vcpu, c.per_mib_memory
                        ),
                        None => eprintln!("charging off: storage and compute are free (--charge)"),
                    }
                },
                crate::shutdown_signal(),
            ))
            .context("running the core node")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::{Cli, Command};

    fn parse(args: &[&str]) -> super::RunArgs {
        let mut all = vec!["aether", "node", "run"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all).unwrap().command {
            Command::Node(cmd) => match cmd.action {
                super::NodeAction::Run(args) => args,
                other => panic!("parsed as {other:?}"),
            },
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("node.toml");
        std::fs::write(&file, "port = 5000\nmax_file_size = 99\n").unwrap();
        let config = parse(&["--config", file.to_str().unwrap(), "--port", "5001"])
            .resolve()
            .unwrap();
        assert_eq!(config.port, 5001, "flag wins");
        assert_eq!(config.max_file_size, 99, "file wins over default");
        assert_eq!(config.bind.to_string(), "127.0.0.1", "loopback by default");
        std::fs::write(&file, "prot = 1\n").unwrap();
        let err = parse(&["--config", file.to_str().unwrap()])
            .resolve()
            .unwrap_err();
        assert!(format!("{err:#}").contains("prot"), "{err:#}");
        assert!(Cli::try_parse_from(["aether", "node", "run", "--port", "x"]).is_err());
        assert!(
            parse(&[]).resolve().unwrap().anchoring.is_none(),
            "no keypair, no anchoring"
        );
        let err = parse(&["--keypair", "/no/such/key.json"])
            .resolve()
            .unwrap_err();
        assert!(format!("{err:#}").contains("/no/such/key.json"));
    }
}
