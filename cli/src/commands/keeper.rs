//! `aether keeper`: the daemons that make the programs' state happen.
//! Each keeper's settings are its library's `Config`
//! (`aether_keeper::settings`): flags, then `AETHER_*` variables, then the
//! TOML file named by `--config`, then the defaults written there; each
//! stops cleanly on Ctrl-C or SIGTERM.

use std::path::PathBuf;

use aether_keeper::settings::{self, Flags};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct KeeperCmd {
    #[command(subcommand)]
    pub keeper: Keeper,
}

#[derive(Debug, Subcommand)]
pub enum Keeper {
    /// Follow the programs' events into SQLite and serve them over HTTP
    Indexer(Flags<aether_indexer::Config>),
    /// Pay providers from payment streams once enough has accrued
    Settler(Flags<aether_settler::Config>),
    /// Probe every resource node and report its score (core node operators)
    Checker(Flags<aether_checker::Config>),
    /// Check `_aether.<domain>` TXT records and attest domain bindings (core node operators)
    Dns(Flags<aether_dns::Config>),
    /// On a resource node: serve the PROGRAMs whose streams it joins, in micro-VMs
    Provisioner(Box<ProvisionerArgs>),
}

/// Where keepers keep their state unless told: ~/.local/share/aether/<name>.
pub fn default_dir(name: &str) -> PathBuf {
    settings::default_dir(name)
}

#[derive(Debug, Args)]
pub struct ProvisionerArgs {
    /// The core node's URL [default: http://127.0.0.1:4024]
    #[arg(long, env = "AETHER_NODE_URL")]
    pub node_url: Option<String>,
    /// JSON-RPC URL of the cluster [default: http://127.0.0.1:8899]
    #[arg(long, env = "AETHER_RPC_URL")]
    pub rpc_url: Option<String>,
    /// The resource node owner's keypair: joins streams, signs
    /// announcements [default: ~/.config/solana/id.json]
    #[arg(long, env = "AETHER_PROVISIONER_KEYPAIR", value_name = "FILE")]
    pub keypair: Option<PathBuf>,
    /// The resource node's identity (base58 public key)
    #[arg(long, env = "AETHER_PROVISIONER_IDENTITY", value_name = "PUBKEY")]
    pub identity: String,
    /// Port of the provisioner's API (/metrics, /serving) [default: 4034]
    #[arg(long, env = "AETHER_PROVISIONER_API_PORT")]
    pub api_port: Option<u16>,
    /// Seconds between rounds [default: 10]
    #[arg(long, env = "AETHER_PROVISIONER_INTERVAL", value_name = "SECS")]
    pub interval: Option<u64>,
    /// Join a stream only when a load balancer asks (POST /serve/<hash>)
    #[arg(long, env = "AETHER_PROVISIONER_ON_DEMAND")]
    pub on_demand: bool,
    #[command(flatten)]
    pub host: super::crn::HostArgs,
}

impl ProvisionerArgs {
    pub fn resolve(&self) -> Result<(aether_provisioner::Config, std::net::SocketAddr)> {
        let node_url = self
            .node_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:4024".into());
        let rpc_url = self
            .rpc_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:8899".into());
        settings::check_url("node_url", &node_url)?;
        settings::check_url("rpc_url", &rpc_url)?;
        let keypair = self
            .keypair
            .clone()
            .unwrap_or_else(settings::default_keypair);
        settings::check_keypair(
            "keypair",
            &keypair,
            "the resource node's owner joins streams with it",
        )?;
        let identity = self.identity.parse().map_err(|_| {
            anyhow::anyhow!("--identity {}: not a base58 public key", self.identity)
        })?;
        let (host, _) = self.host.resolve()?;
        let bind = host.bind;
        let mut config =
            aether_provisioner::Config::new(node_url, rpc_url, keypair, identity, host);
        if let Some(secs) = self.interval {
            settings::check_at_least_one("interval", secs)?;
            config.interval = std::time::Duration::from_secs(secs);
        }
        config.on_demand = self.on_demand;
        let api = std::net::SocketAddr::new(bind, self.api_port.unwrap_or(4034));
        Ok((config, api))
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

impl KeeperCmd {
    pub fn execute(self) -> Result<()> {
        let runtime = runtime()?;
        match self.keeper {
            Keeper::Indexer(args) => {
                let config = args.load()?;
                let (db, urls) = (config.db_path.clone(), config.rpc_urls.join(", "));
                let ready = |k: &aether_indexer::Indexer| {
                    let (api, db) = (k.url(), db.display());
                    say_ready(
                        "indexer",
                        format!("API {api}  database {db}  following {urls}"),
                    )
                };
                runtime
                    .block_on(aether_indexer::run(config, ready, stopping("indexer")))
                    .context("indexer")?;
            }
            Keeper::Provisioner(args) => {
                let (config, api) = args.resolve()?;
                let ready = |k: &aether_provisioner::Provisioner| {
                    let (vms, api) = (k.host_url(), k.url());
                    say_ready(
                        "provisioner",
                        format!("programs at {vms}/vm/<item_hash>/  API {api}"),
                    )
                };
                runtime
                    .block_on(aether_provisioner::run(
                        config,
                        api,
                        ready,
                        stopping("provisioner"),
                    ))
                    .context("provisioner")?;
            }
            Keeper::Dns(args) => {
                let config = args.load()?;
                let resolver = config.resolver;
                let ready = |k: &aether_dns::DnsKeeper| {
                    say_ready(
                        "dns keeper",
                        format!("API {}  resolver {resolver}", k.url()),
                    )
                };
                runtime
                    .block_on(aether_dns::run(config, ready, stopping("dns keeper")))
                    .context("dns keeper")?;
            }
            Keeper::Checker(args) => {
                let config = args.load()?;
                let reference = config.reference().as_ref().map_or("none".to_owned(), |r| {
                    format!("/vm/{}{}", r.program, r.path)
                });
                let ready = |k: &aether_checker::Checker| {
                    say_ready(
                        "checker",
                        format!("API {}  reference program {reference}", k.url()),
                    )
                };
                runtime
                    .block_on(aether_checker::run(config, ready, stopping("checker")))
                    .context("checker")?;
            }
            Keeper::Settler(args) => {
                let config = args.load()?;
                let (threshold, period) = (config.threshold, config.period.as_secs());
                let ready = |k: &aether_settler::Settler| {
                    let api = k.url();
                    let when = format!("settles at {threshold} base units or after {period}s");
                    say_ready("settler", format!("API {api}  {when}"))
                };
                runtime
                    .block_on(aether_settler::run(config, ready, stopping("settler")))
                    .context("settler")?;
            }
        }
        Ok(())
    }
}

/// Ctrl-C or SIGTERM, said on the terminal.
async fn stopping(name: &str) {
    crate::shutdown_signal().await;
    eprintln!("{name} stopping");
}

/// What every keeper prints once it serves.
fn say_ready(name: &str, details: String) {
    eprintln!("{name} ready: {details}  (Ctrl-C stops it)");
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Keeper;
    use crate::{Cli, Command};

    fn parse(args: &[&str]) -> Keeper {
        let mut all = vec!["aether", "keeper"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all).unwrap().command {
            Command::Keeper(cmd) => cmd.keeper,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn indexer_flags_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("indexer.toml");
        std::fs::write(
            &file,
            "rpc_urls = [\"http://a:1\"]\nport = 5000\npoll_ms = 50\n",
        )
        .unwrap();
        let Keeper::Indexer(args) = parse(&[
            "indexer",
            "--config",
            file.to_str().unwrap(),
            "--port",
            "5001",
        ]) else {
            unreachable!()
        };
        let config = args.load().unwrap();
        assert_eq!(config.rpc_urls, vec!["http://a:1".to_owned()]);
        assert_eq!(config.port, 5001);
        assert_eq!(config.poll_interval.as_millis(), 50);
        let Keeper::Indexer(args) = parse(&["indexer", "--rpc-url", "ws://x"]) else {
            unreachable!()
        };
        assert!(args.load().unwrap_err().to_string().contains("http://"));
        std::fs::write(&file, "rpc = 1\n").unwrap();
        let Keeper::Indexer(args) = parse(&["indexer", "--config", file.to_str().unwrap()]) else {
            unreachable!()
        };
        assert!(format!("{:#}", args.load().unwrap_err()).contains("unknown field"));
    }

    #[test]
    fn checker_needs_a_whole_reference() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id.json");
        solana_keypair::write_keypair_file(&solana_keypair::Keypair::new(), &key).unwrap();
        let db = dir.path().join("c.sqlite");
        let base = [
            "checker",
            "--keypair",
            key.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ];
        let Keeper::Checker(args) = parse(&[&base[..], &["--reference-program", "ab"]].concat())
        else {
            unreachable!()
        };
        assert!(args.load().unwrap_err().to_string().contains("go together"));
        let hash = "a".repeat(64);
        let Keeper::Checker(args) = parse(
            &[
                &base[..],
                &["--reference-program", &hash, "--reference-expect", "ok"],
            ]
            .concat(),
        ) else {
            unreachable!()
        };
        let config = args.load().unwrap();
        assert_eq!(config.reference().unwrap().path, "/");
        let Keeper::Checker(args) = parse(
            &[
                &base[..],
                &["--reference-program", "zz", "--reference-expect", "ok"],
            ]
            .concat(),
        ) else {
            unreachable!()
        };
        assert!(args.load().unwrap_err().to_string().contains("64 hex"));
    }

    #[test]
    fn settler_needs_its_fee_payer_and_sane_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.json");
        let Keeper::Settler(args) = parse(&["settler", "--keypair", missing.to_str().unwrap()])
        else {
            unreachable!()
        };
        assert!(args
            .load()
            .unwrap_err()
            .to_string()
            .contains("no such file"));
        let key = dir.path().join("id.json");
        solana_keypair::write_keypair_file(&solana_keypair::Keypair::new(), &key).unwrap();
        let db = dir.path().join("s.sqlite");
        let base = [
            "settler",
            "--keypair",
            key.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ];
        let Keeper::Settler(args) = parse(&[&base[..], &["--max-per-tx", "0"]].concat()) else {
            unreachable!()
        };
        assert!(args.load().unwrap_err().to_string().contains("at least 1"));
        let Keeper::Settler(args) =
            parse(&[&base[..], &["--threshold", "5", "--period", "60"]].concat())
        else {
            unreachable!()
        };
        let config = args.load().unwrap();
        assert_eq!((config.threshold, config.period.as_secs()), (5, 60));
    }
}
