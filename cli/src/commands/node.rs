//! `aether node`: the core channel node.

use aether_keeper::settings::Flags;
use aether_node::Config;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};

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

/// The node's settings (`aether_node::config::Settings`): flags win over
/// `AETHER_NODE_*` variables, which win over `--config`, which wins over
/// the defaults.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub settings: Flags<aether_node::config::Settings>,
}

impl RunArgs {
    /// The settings, merged in order of precedence and checked.
    pub fn resolve(&self) -> Result<Config> {
        Ok(self.settings.load()?.into_config())
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
