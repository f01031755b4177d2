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

use crate::chain::default_keypair;

#[derive(Debug, Args)]
pub struct KeeperCmd {
    #[command(subcommand)]
    pub keeper: Keeper,
}

#[derive(Debug, Subcommand)]
pub enum Keeper {
    /// Follow the programs' events into SQLite and serve them over HTTP
    Indexer(IndexerArgs),
    /// Pay providers from payment streams once enough has accrued
    Settler(SettlerArgs),
    /// Probe every resource node and report its score (core node operators)
    Checker(CheckerArgs),
    /// Check `_aether.<domain>` TXT records and attest domain bindings (core node operators)
    Dns(DnsArgs),
    /// On a resource node: serve the PROGRAMs whose streams it joins, in micro-VMs
    Provisioner(ProvisionerArgs),
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

/// `--rpc-url`, else the file's, else localnet's; checked.
fn rpc_url(flag: &Option<String>, file: Option<String>) -> Result<String> {
    let url = flag
        .clone()
        .or(file)
        .unwrap_or_else(|| "http://127.0.0.1:8899".into());
    check_urls("--rpc-url", std::slice::from_ref(&url))?;
    Ok(url)
}

/// `--keypair`, else the file's, else the Solana CLI's; it must exist.
fn signer(flag: &Option<PathBuf>, file: Option<PathBuf>, why: &str) -> Result<PathBuf> {
    let keypair = flag.clone().or(file).unwrap_or_else(default_keypair);
    anyhow::ensure!(
        keypair.exists(),
        "--keypair {}: no such file ({why})",
        keypair.display()
    );
    Ok(keypair)
}

/// `--db`, else the file's, else `~/.local/share/aether/<keeper>/<keeper>.sqlite`;
/// its directory is created.
fn db_file(flag: &Option<PathBuf>, file: Option<PathBuf>, keeper: &str) -> Result<PathBuf> {
    let db = flag
        .clone()
        .or(file)
        .unwrap_or_else(|| default_dir(keeper).join(format!("{keeper}.sqlite")));
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(db)
}

/// `--interval` in seconds, at least 1.
fn interval(secs: Option<u64>) -> Result<Option<Duration>> {
    match secs {
        Some(0) => anyhow::bail!("--interval must be at least 1 second"),
        other => Ok(other.map(Duration::from_secs)),
    }
}

#[derive(Debug, Args)]
pub struct SettlerArgs {
    /// JSON-RPC URL of the cluster [default: http://127.0.0.1:8899]
    #[arg(long, env = "AETHER_RPC_URL")]
    pub rpc_url: Option<String>,
    /// The keypair that pays the fees [default: ~/.config/solana/id.json]
    #[arg(long, env = "AETHER_SETTLER_KEYPAIR", value_name = "FILE")]
    pub keypair: Option<PathBuf>,
    /// The settlement log [default: ~/.local/share/aether/settler/settler.sqlite]
    #[arg(long, env = "AETHER_SETTLER_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Port of the HTTP API (/metrics, /settlements) [default: 4031]
    #[arg(long, env = "AETHER_SETTLER_PORT")]
    pub port: Option<u16>,
    /// Address to bind [default: 127.0.0.1]
    #[arg(long, env = "AETHER_SETTLER_BIND")]
    pub bind: Option<IpAddr>,
    /// Seconds between looks at the streams [default: 10]
    #[arg(long, env = "AETHER_SETTLER_INTERVAL", value_name = "SECS")]
    pub interval: Option<u64>,
    /// Settle once this much has accrued on a stream, base units [default: 1000000]
    #[arg(long, env = "AETHER_SETTLER_THRESHOLD", value_name = "UNITS")]
    pub threshold: Option<u64>,
    /// Settle when the last settlement is this many seconds old [default: 3600]
    #[arg(long, env = "AETHER_SETTLER_PERIOD", value_name = "SECS")]
    pub period: Option<u64>,
    /// Streams per transaction at most [default: 8]
    #[arg(long, env = "AETHER_SETTLER_MAX_PER_TX", value_name = "N")]
    pub max_per_tx: Option<usize>,
    /// A TOML file with the same settings (keys: rpc_url, keypair, db,
    /// port, bind, interval, threshold, period, max_per_tx)
    #[arg(long, env = "AETHER_SETTLER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettlerFile {
    rpc_url: Option<String>,
    keypair: Option<PathBuf>,
    db: Option<PathBuf>,
    port: Option<u16>,
    bind: Option<IpAddr>,
    interval: Option<u64>,
    threshold: Option<u64>,
    period: Option<u64>,
    max_per_tx: Option<usize>,
}

impl SettlerArgs {
    pub fn resolve(&self) -> Result<aether_settler::Config> {
        let file: SettlerFile = read_file(self.config.as_deref())?;
        let rpc_url = rpc_url(&self.rpc_url, file.rpc_url)?;
        let keypair = signer(&self.keypair, file.keypair, "the settler pays fees from it")?;
        let db = db_file(&self.db, file.db, "settler")?;
        let mut config = aether_settler::Config::new(rpc_url, keypair, db);
        if let Some(port) = self.port.or(file.port) {
            config.port = port;
        }
        if let Some(bind) = self.bind.or(file.bind) {
            config.bind = bind;
        }
        if let Some(every) = interval(self.interval.or(file.interval))? {
            config.interval = every;
        }
        if let Some(threshold) = self.threshold.or(file.threshold) {
            config.threshold = threshold;
        }
        if let Some(secs) = self.period.or(file.period) {
            config.period = Duration::from_secs(secs);
        }
        if let Some(n) = self.max_per_tx.or(file.max_per_tx) {
            anyhow::ensure!(n > 0, "--max-per-tx must be at least 1");
            config.max_streams_per_tx = n;
        }
        Ok(config)
    }
}

#[derive(Debug, Args)]
pub struct CheckerArgs {
    /// JSON-RPC URL of the cluster [default: http://127.0.0.1:8899]
    #[arg(long, env = "AETHER_RPC_URL")]
    pub rpc_url: Option<String>,
    /// The core node operator's keypair, which signs the reports
    /// [default: ~/.config/solana/id.json]
    #[arg(long, env = "AETHER_CHECKER_KEYPAIR", value_name = "FILE")]
    pub keypair: Option<PathBuf>,
    /// Probes and reports [default: ~/.local/share/aether/checker/checker.sqlite]
    #[arg(long, env = "AETHER_CHECKER_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Port of the HTTP API (/metrics, /scores) [default: 4032]
    #[arg(long, env = "AETHER_CHECKER_PORT")]
    pub port: Option<u16>,
    /// Address to bind [default: 127.0.0.1]
    #[arg(long, env = "AETHER_CHECKER_BIND")]
    pub bind: Option<IpAddr>,
    /// Seconds between probe rounds [default: 60]
    #[arg(long, env = "AETHER_CHECKER_INTERVAL", value_name = "SECS")]
    pub interval: Option<u64>,
    /// Probes of a node in an epoch before its score is reported [default: 5]
    #[arg(long, env = "AETHER_CHECKER_MIN_PROBES", value_name = "N")]
    pub min_probes: Option<u32>,
    /// Item hash of the reference program every node is asked to serve
    #[arg(long, env = "AETHER_CHECKER_REFERENCE", value_name = "HASH")]
    pub reference_program: Option<String>,
    /// Path called within the reference program [default: /]
    #[arg(long, env = "AETHER_CHECKER_REFERENCE_PATH", value_name = "PATH")]
    pub reference_path: Option<String>,
    /// Text the reference program's answer must contain
    #[arg(long, env = "AETHER_CHECKER_REFERENCE_EXPECT", value_name = "TEXT")]
    pub reference_expect: Option<String>,
    /// A TOML file with the same settings (keys: rpc_url, keypair, db,
    /// port, bind, interval, min_probes, reference_program,
    /// reference_path, reference_expect)
    #[arg(long, env = "AETHER_CHECKER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckerFile {
    rpc_url: Option<String>,
    keypair: Option<PathBuf>,
    db: Option<PathBuf>,
    port: Option<u16>,
    bind: Option<IpAddr>,
    interval: Option<u64>,
    min_probes: Option<u32>,
    reference_program: Option<String>,
    reference_path: Option<String>,
    reference_expect: Option<String>,
}

impl CheckerArgs {
    pub fn resolve(&self) -> Result<aether_checker::Config> {
        let file: CheckerFile = read_file(self.config.as_deref())?;
        let rpc_url = rpc_url(&self.rpc_url, file.rpc_url)?;
        let keypair = signer(
            &self.keypair,
            file.keypair,
            "reports are signed by a core node operator",
        )?;
        let db = db_file(&self.db, file.db, "checker")?;
        let mut config = aether_checker::Config::new(rpc_url, keypair, db);
        if let Some(port) = self.port.or(file.port) {
            config.port = port;
        }
        if let Some(bind) = self.bind.or(file.bind) {
            config.bind = bind;
        }
        if let Some(every) = interval(self.interval.or(file.interval))? {
            config.interval = every;
        }
        if let Some(n) = self.min_probes.or(file.min_probes) {
            anyhow::ensure!(n > 0, "--min-probes must be at least 1");
            config.min_probes = n;
        }
        let program = self.reference_program.clone().or(file.reference_program);
        let expect = self.reference_expect.clone().or(file.reference_expect);
        config.reference = match (program, expect) {
            (Some(program), Some(expect)) => {
                anyhow::ensure!(
                    program.len() == 64 && program.bytes().all(|b| b.is_ascii_hexdigit()),
                    "--reference-program {program}: an item hash is 64 hex digits"
                );
                Some(aether_checker::Reference {
                    program,
                    path: self
                        .reference_path
                        .clone()
                        .or(file.reference_path)
                        .unwrap_or_else(|| "/".into()),
                    expect,
                })
            }
            (None, None) => None,
            _ => anyhow::bail!(
                "--reference-program and --reference-expect go together: the checker must know what the program answers"
            ),
        };
        Ok(config)
    }
}

#[derive(Debug, Args)]
pub struct DnsArgs {
    /// JSON-RPC URL of the cluster [default: http://127.0.0.1:8899]
    #[arg(long, env = "AETHER_RPC_URL")]
    pub rpc_url: Option<String>,
    /// The core node operator's keypair, which signs the attestations
    /// [default: ~/.config/solana/id.json]
    #[arg(long, env = "AETHER_DNS_KEYPAIR", value_name = "FILE")]
    pub keypair: Option<PathBuf>,
    /// The DNS server to ask, ip:port [default: the first nameserver of /etc/resolv.conf]
    #[arg(long, env = "AETHER_DNS_RESOLVER", value_name = "ADDR")]
    pub resolver: Option<std::net::SocketAddr>,
    /// The log of checks [default: ~/.local/share/aether/dns/dns.sqlite]
    #[arg(long, env = "AETHER_DNS_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Port of the HTTP API (/metrics, /checks) [default: 4033]
    #[arg(long, env = "AETHER_DNS_PORT")]
    pub port: Option<u16>,
    /// Seconds between rounds [default: 30]
    #[arg(long, env = "AETHER_DNS_INTERVAL", value_name = "SECS")]
    pub interval: Option<u64>,
    /// A TOML file with the same settings (keys: rpc_url, keypair,
    /// resolver, db, port, interval)
    #[arg(long, env = "AETHER_DNS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DnsFile {
    rpc_url: Option<String>,
    keypair: Option<PathBuf>,
    resolver: Option<std::net::SocketAddr>,
    db: Option<PathBuf>,
    port: Option<u16>,
    interval: Option<u64>,
}

/// The first `nameserver` of resolv.conf, on port 53.
fn system_resolver(resolv_conf: &str) -> Option<std::net::SocketAddr> {
    resolv_conf.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some("nameserver"))
            .then(|| words.next()?.parse::<IpAddr>().ok())
            .flatten()
            .map(|ip| std::net::SocketAddr::new(ip, 53))
    })
}

impl DnsArgs {
    pub fn resolve(&self) -> Result<aether_dns::Config> {
        let file: DnsFile = read_file(self.config.as_deref())?;
        let rpc_url = rpc_url(&self.rpc_url, file.rpc_url)?;
        let keypair = signer(
            &self.keypair,
            file.keypair,
            "attestations are signed by a core node operator",
        )?;
        let resolver = match self.resolver.or(file.resolver) {
            Some(r) => r,
            None => {
                system_resolver(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default())
                    .context("no --resolver and no nameserver in /etc/resolv.conf")?
            }
        };
        let db = db_file(&self.db, file.db, "dns")?;
        let mut config = aether_dns::Config::new(rpc_url, keypair, resolver, db);
        if let Some(port) = self.port.or(file.port) {
            config.port = port;
        }
        if let Some(every) = interval(self.interval.or(file.interval))? {
            config.interval = every;
        }
        Ok(config)
    }
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
        check_urls("--node-url/--rpc-url", &[node_url.clone(), rpc_url.clone()])?;
        let keypair = signer(
            &self.keypair,
            None,
            "the resource node's owner joins streams with it",
        )?;
        let identity = self.identity.parse().map_err(|_| {
            anyhow::anyhow!("--identity {}: not a base58 public key", self.identity)
        })?;
        let (host, _) = self.host.resolve()?;
        let mut config =
            aether_provisioner::Config::new(node_url, rpc_url, keypair, identity, host);
        if let Some(every) = interval(self.interval)? {
            config.interval = every;
        }
        config.on_demand = self.on_demand;
        let api = std::net::SocketAddr::new(self.host.bind, self.api_port.unwrap_or(4034));
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
                let config = args.resolve()?;
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
                let config = args.resolve()?;
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
                let config = args.resolve()?;
                let reference = config.reference.as_ref().map_or("none".to_owned(), |r| {
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
                let config = args.resolve()?;
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
        let config = args.resolve().unwrap();
        assert_eq!(config.rpc_urls, vec!["http://a:1".to_owned()]);
        assert_eq!(config.port, 5001);
        assert_eq!(config.poll_interval.as_millis(), 50);
        let Keeper::Indexer(args) = parse(&["indexer", "--rpc-url", "ws://x"]) else {
            unreachable!()
        };
        assert!(args.resolve().unwrap_err().to_string().contains("http://"));
        std::fs::write(&file, "rpc = 1\n").unwrap();
        let Keeper::Indexer(args) = parse(&["indexer", "--config", file.to_str().unwrap()]) else {
            unreachable!()
        };
        assert!(format!("{:#}", args.resolve().unwrap_err()).contains("unknown field"));
    }

    #[test]
    fn the_system_resolver_is_the_first_nameserver() {
        let conf = "# comment\nsearch x\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n";
        assert_eq!(
            super::system_resolver(conf),
            Some("10.0.0.2:53".parse().unwrap())
        );
        assert_eq!(super::system_resolver("nameserver bogus\n"), None);
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
        assert!(args
            .resolve()
            .unwrap_err()
            .to_string()
            .contains("go together"));
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
        let config = args.resolve().unwrap();
        assert_eq!(config.reference.unwrap().path, "/");
        let Keeper::Checker(args) = parse(
            &[
                &base[..],
                &["--reference-program", "zz", "--reference-expect", "ok"],
            ]
            .concat(),
        ) else {
            unreachable!()
        };
        assert!(args.resolve().unwrap_err().to_string().contains("64 hex"));
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
            .resolve()
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
        assert!(args
            .resolve()
            .unwrap_err()
            .to_string()
            .contains("at least 1"));
        let Keeper::Settler(args) =
            parse(&[&base[..], &["--threshold", "5", "--period", "60"]].concat())
        else {
            unreachable!()
        };
        let config = args.resolve().unwrap();
        assert_eq!((config.threshold, config.period.as_secs()), (5, 60));
    }
}
