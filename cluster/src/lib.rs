//! `aether-cluster`: the whole Aether cluster on one machine, what
//! `aether up` runs. In one process, in this order:
//!
//! 1. keypairs under `<data-dir>/keys` (made once): the wallet of the dApp
//!    developer, the core operator, and each resource node's owner and
//!    identity;
//! 2. the localnet, bootstrapped, its ledger in `<data-dir>/localnet`,
//!    funding those keys and any others asked for;
//! 3. on chain, once: the core operator's staking node, activated by moving
//!    the local clock to the next epoch and closing it, and its core node
//!    record;
//! 4. the core node (`<data-dir>/node`), anchoring with the bootstrap
//!    authority and charging what senders hold (see `aether_node::charging`);
//! 5. the guest runtime (built once from the Debian kernel package, busybox
//!    and the static guest agent, under `<data-dir>/runtimes`);
//! 6. the resource nodes (one unless asked for more): each its provisioner
//!    and vm-host (`<data-dir>/crn`, then `crn-2`…), and its registry
//!    record;
//! 7. the indexer, settler, checker (with a reference program the operator
//!    posts and pays for, see [`reference`]) and, given a resolver, the dns
//!    keeper, run for the core operator (`<data-dir>/keepers`);
//! 8. the load balancer.
//!
//! Every part keeps its state in the data directory: a second `up` with the
//! same directory finds the chain and the nodes as they were.
//!
//! ```no_run
//! # async fn demo() -> Result<(), aether_cluster::ClusterError> {
//! let mut config = aether_cluster::Config::new("/tmp/aether".into());
//! config.runtime = aether_cluster::RuntimeSource::Dir("/tmp/runtime".into());
//! let cluster = aether_cluster::Cluster::start(config, &|step| eprintln!("{step}")).await?;
//! println!("{}", cluster.summary());
//! cluster.stop().await;
//! # Ok(()) }
//! ```

pub mod chain;
mod parts;
pub mod reference;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aether_localnet::Localnet;
use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::programs::client::ProgramClientError;
use aether_sdk::programs::registry;
use aether_vm_host::runtime::{self, RuntimeInputs};
use aether_vm_host::BackendChoice;
use parts::Parts;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Where the guest runtime comes from.
#[derive(Clone, Debug)]
pub enum RuntimeSource {
    /// A runtime built earlier (`aether crn build-runtime`).
    Dir(PathBuf),
    /// Built (once; the same inputs give the same runtime) from these.
    Build {
        /// The static `aether-guest` binary.
        agent: PathBuf,
        /// The kernel package; `None` downloads it with apt.
        kernel_deb: Option<PathBuf>,
        /// A static busybox.
        busybox: PathBuf,
    },
}

/// Ports of the parts; 0 picks a free one (for the RPC port, a free pair).
#[derive(Clone, Debug)]
pub struct Ports {
    /// JSON-RPC (WebSocket on the next port).
    pub rpc: u16,
    /// The core node's API.
    pub node: u16,
    /// vm-host's router.
    pub vm_host: u16,
    /// vm-host's HTTPS listener for custom domains; none when `None`.
    pub https: Option<u16>,
    /// The provisioner's API.
    pub provisioner: u16,
    /// The indexer.
    pub indexer: u16,
    /// The settler.
    pub settler: u16,
    /// The checker.
    pub checker: u16,
    /// The dns keeper.
    pub dns: u16,
    /// The load balancer.
    pub lb: u16,
}

impl Ports {
    /// Every port picked free, and no HTTPS listener (tests, several
    /// clusters on one machine).
    pub fn free() -> Ports {
        Ports {
            rpc: 0,
            node: 0,
            vm_host: 0,
            https: None,
            provisioner: 0,
            indexer: 0,
            settler: 0,
            checker: 0,
            dns: 0,
            lb: 0,
        }
    }
}

impl Default for Ports {
    /// Each part's own default, as when it runs alone.
    fn default() -> Self {
        Ports {
            rpc: aether_localnet::DEFAULT_RPC_PORT,
            node: aether_node::config::DEFAULT_PORT,
            vm_host: 4020,
            https: Some(4443),
            provisioner: 4034,
            indexer: 4030,
            settler: 4031,
            checker: 4032,
            dns: 4033,
            lb: 4040,
        }
    }
}

/// What `aether up` starts, and where.
#[derive(Clone, Debug)]
pub struct Config {
    /// Everything is kept here.
    pub data_dir: PathBuf,
    /// Address every part binds (loopback).
    pub bind: IpAddr,
    /// Ports.
    pub ports: Ports,
    /// Milliseconds per slot.
    pub slot_ms: u64,
    /// The guest runtime.
    pub runtime: RuntimeSource,
    /// The hypervisor.
    pub backend: BackendChoice,
    /// Other accounts to fund with SOL and tokens (a wallet of yours).
    pub fund: Vec<Pubkey>,
    /// The DNS server the dns keeper asks; no dns keeper when `None`.
    pub dns_resolver: Option<SocketAddr>,
    /// Where vm-host gets certificates for custom domains.
    pub acme: Option<aether_vm_host::acme::AcmeConfig>,
    /// Time between rounds of the provisioner, settler, checker and dns
    /// keeper: short, for a cluster a person watches.
    pub interval: Duration,
    /// vm-host's limits on VMs (memory is the guest's own, per program).
    pub idle_timeout: Duration,
    /// What the core node charges holders; free when `None`.
    pub costs: Option<aether_node::charging::Costs>,
    /// How long content over its owner's balance waits to be collected.
    pub collect_grace: Duration,
    /// Resource nodes to run (each with its own vm-host); the n-th (from
    /// 0) takes the vm-host, HTTPS and provisioner ports plus n.
    pub resource_nodes: usize,
    /// Post the checker's reference program (see [`reference`]), so that
    /// scores count it.
    pub reference: bool,
}

impl Config {
    /// The defaults: each part on its usual port on 127.0.0.1, 400 ms
    /// slots, the runtime built from `aether-guest` beside this program,
    /// QEMU or cloud-hypervisor as the host allows, rounds every 5 s.
    pub fn new(data_dir: PathBuf) -> Config {
        let agent = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|d| d.join("aether-guest")))
            .unwrap_or_else(|| PathBuf::from("aether-guest"));
        Config {
            data_dir,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ports: Ports::default(),
            slot_ms: aether_localnet::DEFAULT_SLOT_MS,
            runtime: RuntimeSource::Build {
                agent,
                kernel_deb: None,
                busybox: PathBuf::from("/bin/busybox"),
            },
            backend: BackendChoice::Auto,
            fund: Vec::new(),
            dns_resolver: None,
            acme: None,
            interval: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            costs: Some(aether_node::charging::Costs::default()),
            collect_grace: Duration::from_secs(3600),
            resource_nodes: 1,
            reference: true,
        }
    }
}

/// Why the cluster did not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A file or directory of the data directory.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// A keypair file.
    #[error("keypair {0}: {1}")]
    Keypair(PathBuf, String),
    /// The static guest agent is missing.
    #[error("no guest agent at {0}: build it with RUSTFLAGS='-C target-feature=+crt-static' cargo build --release -p aether-guest --target x86_64-unknown-linux-gnu, then pass its path")]
    NoAgent(PathBuf),
    /// A part did not start; the parts started before it were stopped.
    #[error("starting {part}: {why}")]
    Part {
        /// Which part.
        part: &'static str,
        /// Why.
        why: String,
    },
    /// Setting up the chain.
    #[error("on chain: {0}")]
    Chain(#[from] ProgramClientError),
    /// Asked to stop before every part was up.
    #[error("stopped before the cluster was up")]
    Interrupted,
}

fn part<E: std::fmt::Display>(part: &'static str) -> impl FnOnce(E) -> ClusterError {
    move |e| ClusterError::Part {
        part,
        why: e.to_string(),
    }
}

/// The keypair files `up` made and funded.
#[derive(Clone, Debug)]
pub struct Keys {
    /// The dApp developer's and wallet holder's key.
    pub wallet: PathBuf,
    /// The core node operator: staked, registered, runs the keepers.
    pub core_operator: PathBuf,
    /// Own the resource nodes, one each.
    pub resource_owners: Vec<PathBuf>,
    /// The resource nodes' identities.
    pub resource_identities: Vec<PathBuf>,
    /// The localnet's bootstrap authority (mint and configs).
    pub authority: PathBuf,
}

impl Keys {
    /// The keypair files under `<data>/keys` (and the bootstrap authority's
    /// in the ledger), for `resource_nodes` resource nodes.
    fn under(data: &Path, resource_nodes: usize) -> Result<Keys, ClusterError> {
        let key_dir = dir(data.join("keys"))?;
        Ok(Keys {
            wallet: key_dir.join("wallet.json"),
            core_operator: key_dir.join("core-operator.json"),
            resource_owners: (0..resource_nodes)
                .map(|i| key_dir.join(format!("resource-owner{}.json", suffix(i))))
                .collect(),
            resource_identities: (0..resource_nodes)
                .map(|i| key_dir.join(format!("resource-identity{}.json", suffix(i))))
                .collect(),
            authority: data.join("localnet").join("authority.json"),
        })
    }
}

/// "" for the first resource node, "-2", "-3"… for the others (so that a
/// one-node cluster's files keep their plain names).
fn suffix(i: usize) -> String {
    if i == 0 {
        String::new()
    } else {
        format!("-{}", i + 1)
    }
}

/// A keypair file: read when it exists, otherwise made (mode 0600).
fn keypair_file(path: &Path) -> Result<Keypair, ClusterError> {
    if path.exists() {
        return solana_keypair::read_keypair_file(path)
            .map_err(|e| ClusterError::Keypair(path.to_path_buf(), e.to_string()));
    }
    let key = Keypair::new();
    solana_keypair::write_keypair_file(&key, path)
        .map_err(|e| ClusterError::Keypair(path.to_path_buf(), e.to_string()))?;
    Ok(key)
}

/// A running cluster.
pub struct Cluster {
    localnet: Localnet,
    node: aether_node::Node,
    provisioners: Vec<aether_provisioner::Provisioner>,
    indexer: aether_indexer::Indexer,
    settler: aether_settler::Settler,
    checker: aether_checker::Checker,
    dns: Option<aether_dns::DnsKeeper>,
    lb: aether_lb::LoadBalancer,
    keys: Keys,
    rpc_url: String,
    data_dir: PathBuf,
    resource_records: Vec<Pubkey>,
    reference: Option<String>,
    costs: Option<aether_node::charging::Costs>,
}

/// Runs blocking program-client work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ProgramClientError> + Send + 'static,
) -> Result<T, ClusterError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(part("a blocking task"))?
        .map_err(ClusterError::Chain)
}

fn dir(path: PathBuf) -> Result<PathBuf, ClusterError> {
    std::fs::create_dir_all(&path).map_err(|e| ClusterError::Io(path.clone(), e))?;
    Ok(path)
}

/// vCPUs a local resource node offers per core. Function VMs mostly wait
/// for requests: at one per core, a two-core laptop running the checker's
/// reference program would have room for one program more.
pub const VCPUS_PER_CORE: u16 = 4;

/// What the resource node offers: [`VCPUS_PER_CORE`] vCPUs per core and
/// half this machine's memory.
fn capacity() -> registry::Capacity {
    let vcpus = aether_vm_host::capacity::offered_vcpus(VCPUS_PER_CORE);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total_mib = aether_vm_host::router::meminfo_mib(&meminfo, "MemTotal:").unwrap_or(2048);
    registry::Capacity {
        vcpus: u16::try_from(vcpus).unwrap_or(u16::MAX),
        memory_mib: u32::try_from(total_mib / 2).unwrap_or(u32::MAX),
        disk_gib: 20,
    }
}

impl Cluster {
    /// Starts every part, telling `progress` each step. On an error the
    /// parts already started are stopped, the last first.
    pub async fn start(
        config: Config,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Cluster, ClusterError> {
        let data = dir(config.data_dir.clone())?;
        let keys = Keys::under(&data, config.resource_nodes.max(1))?;
        let wallet = keypair_file(&keys.wallet)?;
        let operator = keypair_file(&keys.core_operator)?;
        let resources = keys
            .resource_owners
            .iter()
            .zip(&keys.resource_identities)
            .map(|(owner, identity)| Ok((keypair_file(owner)?, keypair_file(identity)?)))
            .collect::<Result<Vec<_>, ClusterError>>()?;
        let mut fund = vec![wallet.pubkey(), operator.pubkey()];
        fund.extend(resources.iter().map(|(owner, _)| owner.pubkey()));
        fund.extend(config.fund.iter().copied());

        let mut parts = Parts::default();
        let people = (&keys, &operator, resources.as_slice());
        let started = match start_all(&config, &data, people, fund, &mut parts, progress).await {
            Ok(started) => started,
            Err(e) => {
                parts.stop().await;
                return Err(e);
            }
        };
        match parts {
            Parts {
                localnet: Some(localnet),
                node: Some(node),
                provisioners,
                indexer: Some(indexer),
                settler: Some(settler),
                checker: Some(checker),
                dns,
                lb: Some(lb),
            } => Ok(Cluster {
                localnet,
                node,
                provisioners,
                indexer,
                settler,
                checker,
                dns,
                lb,
                keys,
                rpc_url: started.rpc_url,
                data_dir: data,
                resource_records: started.resource_records,
                reference: started.reference,
                costs: config.costs,
            }),
            parts => {
                parts.stop().await;
                Err(ClusterError::Part {
                    part: "the cluster",
                    why: "a part it needs did not start".into(),
                })
            }
        }
    }

    /// JSON-RPC URL of the localnet.
    pub fn rpc_url(&self) -> &str {
        &self.rpc_url
    }

    /// The core node's API.
    pub fn node_url(&self) -> String {
        self.node.url()
    }

    /// The load balancer.
    pub fn lb_url(&self) -> String {
        self.lb.url()
    }

    /// The first resource node's vm-host.
    pub fn vm_host_url(&self) -> String {
        self.provisioners[0].host_url()
    }

    /// The first vm-host's HTTPS listener, when it has one.
    pub async fn https_addr(&self) -> Option<SocketAddr> {
        self.provisioners[0].https_addr().await
    }

    /// The checker.
    pub fn checker_url(&self) -> String {
        self.checker.url()
    }

    /// The indexer.
    pub fn indexer_url(&self) -> String {
        self.indexer.url()
    }

    /// The keypair files.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The resource nodes' registry records.
    pub fn resource_records(&self) -> &[Pubkey] {
        &self.resource_records
    }

    /// The checker's reference program, when one was posted.
    pub fn reference_program(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    /// The resource nodes' provisioners (what each serves, its vm-host).
    pub fn provisioners(&self) -> &[aether_provisioner::Provisioner] {
        &self.provisioners
    }

    /// The localnet (its clock can be moved, in tests and demos).
    pub fn localnet(&self) -> &Localnet {
        &self.localnet
    }

    /// What is running and where, for a person.
    pub fn summary(&self) -> String {
        let mut lines = vec![
            format!(
                "chain         {} (WebSocket {})",
                self.rpc_url,
                aether_sdk::programs::client::ws_url_of(&self.rpc_url)
            ),
            format!("core node     {}", self.node.url()),
            format!("load balancer {}", self.lb.url()),
            self.provisioners
                .iter()
                .map(|p| format!("resource node {} (provisioner {})", p.host_url(), p.url()))
                .collect::<Vec<_>>()
                .join("\n"),
            format!("indexer       {}", self.indexer.url()),
            format!("settler       {}", self.settler.url()),
            match &self.reference {
                Some(program) => format!(
                    "checker       {} (reference program {program})",
                    self.checker.url()
                ),
                None => format!("checker       {} (no reference program)", self.checker.url()),
            },
            match &self.dns {
                Some(dns) => format!("dns keeper    {}", dns.url()),
                None => "dns keeper    not running (no resolver given)".to_string(),
            },
            String::new(),
            "funded keypairs:".to_string(),
            format!(
                "  wallet (dApp, stake, streams) {}",
                self.keys.wallet.display()
            ),
            format!(
                "  core operator                 {}",
                self.keys.core_operator.display()
            ),
            self.keys
                .resource_owners
                .iter()
                .zip(&self.keys.resource_identities)
                .map(|(owner, identity)| {
                    format!(
                        "  resource node owner           {}\n  resource node identity        {}",
                        owner.display(),
                        identity.display()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            format!(
                "  bootstrap authority           {}",
                self.keys.authority.display()
            ),
            format!("data          {}", self.data_dir.display()),
            match self.costs {
                Some(c) => format!(
                    "charging      by holding the stake token: {} base units per MiB stored, {} per vCPU, {} per MiB of memory",
                    c.per_mib_stored, c.per_vcpu, c.per_mib_memory
                ),
                None => "charging      off".to_string(),
            },
        ];
        lines.push(String::new());
        lines.join("\n")
    }

    /// Stops every part, the last started first, the chain last.
    pub async fn stop(self) {
        Parts {
            localnet: Some(self.localnet),
            node: Some(self.node),
            provisioners: self.provisioners,
            indexer: Some(self.indexer),
            settler: Some(self.settler),
            checker: Some(self.checker),
            dns: self.dns,
            lb: Some(self.lb),
        }
        .stop()
        .await;
    }
}

/// What the start learned beyond its parts.
struct Started {
    rpc_url: String,
    resource_records: Vec<Pubkey>,
    reference: Option<String>,
}

/// Every stage in order, each adding to `parts`: the chain, the core node,
/// the reference program and runtime, the resource nodes, the keepers, the
/// load balancer.
async fn start_all(
    config: &Config,
    data: &Path,
    (keys, operator, resources): (&Keys, &Keypair, &[(Keypair, Keypair)]),
    fund: Vec<Pubkey>,
    parts: &mut Parts,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Started, ClusterError> {
    let ledger = data.join("localnet");
    let chain = parts
        .start_chain(config, &ledger, operator, fund, progress)
        .await?;
    let node_url = parts
        .start_core(config, data, &chain, keys, progress)
        .await?;
    let urls = (chain.rpc_url.as_str(), node_url.as_str());
    let operator_client = chain.operator.clone();
    let (reference, runtime_dir) =
        Parts::prepare(config, data, &node_url, keys, operator_client, progress).await?;
    let resource_records = parts
        .start_resource_nodes(config, data, &runtime_dir, urls, keys, resources, progress)
        .await?;
    progress("starting the indexer, settler, checker and dns keeper");
    parts
        .start_keepers(config, data, &chain.rpc_url, keys, reference.clone())
        .await?;
    parts
        .start_lb(config, urls, resources.len(), progress)
        .await?;
    Ok(Started {
        rpc_url: chain.rpc_url,
        resource_records,
        reference,
    })
}

/// The runtime directory: given, or built under `<data>/runtimes`.
async fn prepare_runtime(
    source: &RuntimeSource,
    data: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<PathBuf, ClusterError> {
    let (agent, kernel_deb, busybox) = match source {
        RuntimeSource::Dir(dir) => return Ok(dir.clone()),
        RuntimeSource::Build {
            agent,
            kernel_deb,
            busybox,
        } => (agent.clone(), kernel_deb.clone(), busybox.clone()),
    };
    if !agent.exists() {
        return Err(ClusterError::NoAgent(agent));
    }
    let out = data.join("runtimes");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let build = tokio::task::spawn_blocking(move || {
        runtime::build(
            &RuntimeInputs {
                kernel_deb,
                busybox,
                agent,
            },
            &out,
            &mut |step| {
                let _ = tx.send(step.to_string());
            },
        )
    });
    while let Some(step) = rx.recv().await {
        progress(&format!("guest runtime: {step}"));
    }
    let built = build
        .await
        .map_err(part("the guest runtime"))?
        .map_err(part("the guest runtime"))?;
    Ok(built.dir)
}

/// Runs the cluster until `shutdown` resolves; `on_ready` sees it once
/// every part is up. A shutdown during the start (a first runtime build
/// can take minutes) abandons it: what was started is dropped.
pub async fn run(
    config: Config,
    progress: &(dyn Fn(&str) + Sync),
    on_ready: impl FnOnce(&Cluster),
    shutdown: impl Future<Output = ()>,
) -> Result<(), ClusterError> {
    tokio::pin!(shutdown);
    let cluster = tokio::select! {
        started = Cluster::start(config, progress) => started?,
        _ = &mut shutdown => {
            tracing::info!("stopped before the cluster was up");
            return Err(ClusterError::Interrupted);
        }
    };
    on_ready(&cluster);
    shutdown.await;
    tracing::info!("stopping the cluster");
    cluster.stop().await;
    Ok(())
}
