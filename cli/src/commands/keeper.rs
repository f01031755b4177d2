//! `aether keeper`: the daemons that make the programs' state happen.
//! Each reads flags, then `AETHER_*` variables, then an optional TOML file,
//! then its defaults; each stops cleanly on Ctrl-C or SIGTERM.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde::de::DeserializeOwned;
use serde::Deserialize;

#[derive(Debug, Args)]
pub struct KeeperCmd {
    #[command(subcommand)]
    pub keeper: Keeper,
}

#[derive(Debug, Subcommand)]
pub enum Keeper {
    /// Follow the programs' events into SQLite and serve them over HTTP
    Indexer(IndexerArgs),
}

/// Where keepers keep their state unless told: ~/.local/share/aether/<name>.
pub fn default_dir(name: &str) -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".local/share/aether")
        .join(name)
}

/// The TOML file named by `--config`, or the defaults.
fn read_file<T: DeserializeOwned + Default>(path: Option<&Path>) -> Result<T> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("in {}", path.display()))
        }
        None => Ok(T::default()),
    }
}

fn check_urls(flag: &str, urls: &[String]) -> Result<()> {
    for url in urls {
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "{flag} {url}: an http:// or https:// URL"
        );
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct IndexerArgs {
    /// A JSON-RPC URL of the cluster (repeatable); requests go to a random
    /// healthy one [default: http://127.0.0.1:8899]
    #[arg(
        long = "rpc-url",
        value_name = "URL",
        env = "AETHER_RPC_URL",
        value_delimiter = ','
    )]
    pub rpc_urls: Vec<String>,
    /// The SQLite file [default: ~/.local/share/aether/indexer/indexer.sqlite]
    #[arg(long, env = "AETHER_INDEXER_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Port of the HTTP API [default: 4030]
    #[arg(long, env = "AETHER_INDEXER_PORT")]
    pub port: Option<u16>,
    /// Address to bind [default: 127.0.0.1]
    #[arg(long, env = "AETHER_INDEXER_BIND")]
    pub bind: Option<IpAddr>,
    /// Scan at least this often, in milliseconds [default: 2000]
    #[arg(long, env = "AETHER_INDEXER_POLL_MS", value_name = "MS")]
    pub poll_ms: Option<u64>,
    /// Do not follow logsSubscribe; scan on the timer only
    #[arg(long)]
    pub no_live: bool,
    /// A TOML file with the same settings (keys: rpc_urls, db, port, bind,
    /// poll_ms, live)
    #[arg(long, env = "AETHER_INDEXER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexerFile {
    #[serde(default)]
    rpc_urls: Vec<String>,
    db: Option<PathBuf>,
    port: Option<u16>,
    bind: Option<IpAddr>,
    poll_ms: Option<u64>,
    live: Option<bool>,
}

impl IndexerArgs {
    pub fn resolve(&self) -> Result<aether_indexer::Config> {
        let file: IndexerFile = read_file(self.config.as_deref())?;
        let mut rpc_urls = if self.rpc_urls.is_empty() {
            file.rpc_urls
        } else {
            self.rpc_urls.clone()
        };
        if rpc_urls.is_empty() {
            rpc_urls.push("http://127.0.0.1:8899".into());
        }
        check_urls("--rpc-url", &rpc_urls)?;
        let db = self
            .db
            .clone()
            .or(file.db)
            .unwrap_or_else(|| default_dir("indexer").join("indexer.sqlite"));
        let mut config = aether_indexer::Config::new(rpc_urls, db);
        if let Some(port) = self.port.or(file.port) {
            config.port = port;
        }
        if let Some(bind) = self.bind.or(file.bind) {
            config.bind = bind;
        }
        if let Some(ms) = self.poll_ms.or(file.poll_ms) {
            anyhow::ensure!(ms >= 10, "--poll-ms must be at least 10");
            config.poll_interval = Duration::from_millis(ms);
        }
        config.live = !self.no_live && file.live.unwrap_or(true);
        Ok(config)
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
        match self.keeper {
            Keeper::Indexer(args) => {
                let config = args.resolve()?;
                runtime()?.block_on(async move {
                    let db = config.db_path.clone();
                    let urls = config.rpc_urls.join(", ");
                    let indexer = aether_indexer::Indexer::start(config)
                        .await
                        .context("starting the indexer")?;
                    eprintln!(
                        "indexer ready: API {}  database {}  following {}  (Ctrl-C stops it)",
                        indexer.url(),
                        db.display(),
                        urls
                    );
                    crate::shutdown_signal().await;
                    eprintln!("indexer stopping");
                    indexer.stop().await;
                    Ok(())
                })
            }
        }
    }
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
        ]);
        let config = args.resolve().unwrap();
        assert_eq!(config.rpc_urls, vec!["http://a:1".to_owned()]);
        assert_eq!(config.port, 5001);
        assert_eq!(config.poll_interval.as_millis(), 50);
        let Keeper::Indexer(args) = parse(&["indexer", "--rpc-url", "ws://x"]);
        assert!(args.resolve().unwrap_err().to_string().contains("http://"));
        std::fs::write(&file, "rpc = 1\n").unwrap();
        let Keeper::Indexer(args) = parse(&["indexer", "--config", file.to_str().unwrap()]);
        assert!(format!("{:#}", args.resolve().unwrap_err()).contains("unknown field"));
    }
}
