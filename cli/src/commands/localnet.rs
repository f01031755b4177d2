//! `aether localnet`: Surfpool with Aether's programs, on loopback.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use aether_localnet::Config;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result};
use clap::Args;
use solana_signer::Signer;

/// Flags win over `AETHER_*` variables, which win over `--config`, which
/// wins over the defaults.
#[derive(Debug, Args)]
pub struct LocalnetCmd {
    /// JSON-RPC port (WebSocket pubsub on the next one) [default: 8899]
    #[arg(long, env = "AETHER_RPC_PORT")]
    pub rpc_port: Option<u16>,
    /// Address to bind [default: 127.0.0.1]
    #[arg(long, env = "AETHER_BIND")]
    pub bind: Option<IpAddr>,
    /// Keep accounts and transaction history in DIR across restarts [default: in memory]
    #[arg(long, env = "AETHER_LEDGER", value_name = "DIR")]
    pub ledger: Option<PathBuf>,
    /// Milliseconds per slot [default: 400]
    #[arg(long, env = "AETHER_SLOT_MS", value_name = "N")]
    pub slot_ms: Option<u64>,
    /// Create the stake mint and every program's config, fund the --fund
    /// accounts, and print what was created as JSON on stdout
    #[arg(long, env = "AETHER_BOOTSTRAP")]
    pub bootstrap: bool,
    /// With --bootstrap: a keypair file or an address to fund with SOL and
    /// stake tokens (repeatable)
    #[arg(long, value_name = "KEYPAIR|ADDRESS")]
    pub fund: Vec<String>,
    /// A TOML file with the same settings (keys: bind, rpc_port, ledger,
    /// slot_ms, bootstrap, fund)
    #[arg(long, env = "AETHER_LOCALNET_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// A keypair file or a base58 address.
pub(crate) fn address(arg: &str) -> Result<Pubkey> {
    if let Ok(key) = Pubkey::from_str(arg) {
        return Ok(key);
    }
    let key = solana_keypair::read_keypair_file(arg)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("--fund {arg}: neither an address nor a readable keypair file"))?;
    Ok(key.pubkey())
}

impl LocalnetCmd {
    /// The settings, merged in order of precedence.
    pub fn resolve(&self) -> Result<Config> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => Config::default(),
        };
        if let Some(port) = self.rpc_port {
            config.rpc_port = port;
        }
        if let Some(bind) = self.bind {
            config.bind = bind;
        }
        if let Some(ledger) = &self.ledger {
            config.ledger = Some(ledger.clone());
        }
        if let Some(ms) = self.slot_ms {
            anyhow::ensure!(ms > 0, "--slot-ms must be at least 1");
            config.slot_ms = ms;
        }
        config.bootstrap |= self.bootstrap;
        for arg in &self.fund {
            config.fund.push(address(arg)?);
        }
        anyhow::ensure!(
            config.fund.is_empty() || config.bootstrap,
            "--fund needs --bootstrap"
        );
        Ok(config)
    }

    pub fn execute(self) -> Result<()> {
        let config = self.resolve()?;
        let (mut stdout, runtime) = crate::runtime::with_program_output()?;
        runtime.block_on(aether_localnet::run(
            config,
            |localnet, report| {
                eprintln!(
                    "localnet ready: JSON-RPC {}  WebSocket {}  (Ctrl-C stops it)",
                    localnet.rpc_url(),
                    localnet.ws_url()
                );
                if let Some(report) = report {
                    let json = serde_json::to_string_pretty(report).expect("report serializes");
                    if let Err(e) = stdout.print(&json) {
                        tracing::warn!("could not print the bootstrap report: {e}");
                    }
                }
            },
            crate::shutdown_signal(),
        ))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::{Cli, Command};

    fn parse(args: &[&str]) -> super::LocalnetCmd {
        match crate::parse_command("localnet", args) {
            Command::Localnet(cmd) => cmd,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = std::env::temp_dir().join(format!("aether-cli-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("localnet.toml");
        std::fs::write(&file, "rpc_port = 9100\nslot_ms = 50\n").unwrap();
        let config = parse(&["--config", file.to_str().unwrap(), "--rpc-port", "9200"])
            .resolve()
            .unwrap();
        assert_eq!(config.rpc_port, 9200, "flag wins");
        assert_eq!(config.slot_ms, 50, "file wins over default");
        assert_eq!(config.bind.to_string(), "127.0.0.1", "default");
        std::fs::write(&file, "rpc_prot = 1\n").unwrap();
        let err = parse(&["--config", file.to_str().unwrap()])
            .resolve()
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("rpc_prot"),
            "unknown keys are named: {err:#}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn bad_fund_arguments_are_refused() {
        let err = parse(&["--bootstrap", "--fund", "/no/such/keypair.json"])
            .resolve()
            .unwrap_err();
        assert!(format!("{err:#}").contains("/no/such/keypair.json"));
        let err = parse(&["--fund", "11111111111111111111111111111111"])
            .resolve()
            .unwrap_err();
        assert!(format!("{err:#}").contains("--fund needs --bootstrap"));
        assert!(Cli::try_parse_from(["aether", "localnet", "--slot-ms", "x"]).is_err());
    }
}
