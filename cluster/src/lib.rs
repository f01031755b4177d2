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
pub mod reference;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aether_localnet::Localnet;
use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::programs::client::{AetherClient, ProgramClientError};
use aether_sdk::programs::registry;
use aether_vm_host::runtime::{self, RuntimeInputs};
use aether_vm_host::BackendChoice;
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
    localnet: Option<Localnet>,
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
    /// parts already started are stopped.
    pub async fn start(
        config: Config,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Cluster, ClusterError> {
        let data = dir(config.data_dir.clone())?;
        let key_dir = dir(data.join("keys"))?;
        let ledger = data.join("localnet");
        let keys = Keys {
            wallet: key_dir.join("wallet.json"),
            core_operator: key_dir.join("core-operator.json"),
            resource_owners: (0..config.resource_nodes.max(1))
                .map(|i| key_dir.join(format!("resource-owner{}.json", suffix(i))))
                .collect(),
            resource_identities: (0..config.resource_nodes.max(1))
                .map(|i| key_dir.join(format!("resource-identity{}.json", suffix(i))))
                .collect(),
            authority: ledger.join("authority.json"),
        };
        let wallet = keypair_file(&keys.wallet)?;
        let operator = keypair_file(&keys.core_operator)?;
        let resources = keys
            .resource_owners
            .iter()
            .zip(&keys.resource_identities)
            .map(|(owner, identity)| Ok((keypair_file(owner)?, keypair_file(identity)?)))
            .collect::<Result<Vec<_>, ClusterError>>()?;

        progress("starting the localnet");
        let rpc_port = match config.ports.rpc {
            0 => aether_localnet::free_port_pair().ok_or_else(|| ClusterError::Part {
                part: "the localnet",
                why: "no free pair of ports on loopback".into(),
            })?,
            port => port,
        };
        let mut fund = vec![wallet.pubkey(), operator.pubkey()];
        fund.extend(resources.iter().map(|(owner, _)| owner.pubkey()));
        fund.extend(config.fund.iter().copied());
        let chain_config = aether_localnet::Config {
            bind: config.bind,
            rpc_port,
            ledger: Some(ledger.clone()),
            slot_ms: config.slot_ms,
            bootstrap: true,
            fund,
        };
        let localnet = Localnet::start(chain_config.clone())
            .await
            .map_err(part("the localnet"))?;
        let rpc_url = localnet.rpc_url();
        // From here on a failure stops the localnet (dropped, then joined).
        let mut localnet = Some(localnet);
        let result = async {
            aether_localnet::bootstrap(&chain_config, &ledger)
                .await
                .map_err(part("the localnet's bootstrap"))?;
            progress("activating the core operator's node");
            let client = Arc::new(AetherClient::new(&rpc_url, operator.insecure_clone()));
            let c = client.clone();
            let active = blocking(move || chain::ensure_staking_node(&c)).await?;
            if !active {
                // The local clock moves to the next epoch, which is closed:
                // the node becomes active, as it would after a day.
                let c = client.clone();
                let end = blocking(move || chain::epoch_end(&c)).await?;
                localnet
                    .as_ref()
                    .expect("started")
                    .time_travel(end + 1)
                    .await
                    .map_err(part("the localnet's clock"))?;
                let c = client.clone();
                blocking(move || chain::crank(&c)).await?;
            }
            Ok::<_, ClusterError>(client)
        }
        .await;
        let client = match result {
            Ok(client) => client,
            Err(e) => {
                stop_localnet(localnet.take()).await;
                return Err(e);
            }
        };
        let parts = Self::start_parts(
            &config, &data, &rpc_url, client, &keys, &resources, progress,
        )
        .await;
        match parts {
            Ok(mut cluster) => {
                cluster.localnet = localnet;
                Ok(cluster)
            }
            Err(e) => {
                stop_localnet(localnet.take()).await;
                Err(e)
            }
        }
    }

    async fn start_parts(
        config: &Config,
        data: &Path,
        rpc_url: &str,
        operator: Arc<AetherClient>,
        keys: &Keys,
        resources: &[(Keypair, Keypair)],
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Cluster, ClusterError> {
        progress("starting the core node");
        let mut node_config = aether_node::Config::new(data.join("node"));
        node_config.bind = config.bind;
        node_config.port = config.ports.node;
        node_config.anchoring = Some(aether_node::anchoring::AnchorConfig {
            rpc_url: rpc_url.to_owned(),
            keypair: keys.authority.clone(),
            interval: Duration::from_secs(10),
            max_messages: 10_000,
        });
        node_config.charging = config
            .costs
            .map(|costs| aether_node::charging::ChargingConfig {
                rpc_url: rpc_url.to_owned(),
                costs,
                grace: config.collect_grace,
                interval: config.interval.max(Duration::from_secs(10)),
            });
        let node = aether_node::Node::start(node_config)
            .await
            .map_err(part("the core node"))?;
        let node_url = node.url();
        // Peers are not dialled in a one-node cluster; the record names
        // the port beside the API, as `aether node run` would use.
        let api_port = node_url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(config.ports.node);
        let p2p = format!("/ip4/{}/tcp/{}", config.bind, api_port.saturating_add(1));
        let (c, url) = (operator.clone(), node_url.clone());
        // Resource nodes register under it (by its operator's consent).
        if let Err(e) = blocking(move || chain::ensure_core_record(&c, &url, &p2p)).await {
            node.stop().await;
            return Err(e);
        }

        // The rest starts in order; what started is stopped on a failure.
        let mut started = Started::default();
        let result = async {
            let reference = if config.reference {
                progress("posting the checker's reference program");
                Some(
                    reference::ensure(data, &node_url, &keys.core_operator, operator.clone())
                        .await?,
                )
            } else {
                None
            };
            let runtime_dir = prepare_runtime(&config.runtime, data, progress).await?;
            let mut resource_records = Vec::new();
            for (i, (owner, identity)) in resources.iter().enumerate() {
                progress(&format!(
                    "starting resource node {} of {} (provisioner and vm-host)",
                    i + 1,
                    resources.len()
                ));
                let plus = |port: u16| {
                    if port == 0 {
                        0
                    } else {
                        port.saturating_add(i as u16)
                    }
                };
                let mut host = aether_vm_host::Config::new(
                    data.join(format!("crn{}", suffix(i))),
                    runtime_dir.clone(),
                );
                host.bind = config.bind;
                host.port = plus(config.ports.vm_host);
                host.backend = config.backend;
                host.https_port = config.ports.https.map(plus);
                host.acme = config.acme.clone();
                host.limits.idle_timeout = config.idle_timeout;
                host.vcpus_per_core = VCPUS_PER_CORE;
                let mut provisioner_config = aether_provisioner::Config::new(
                    node_url.clone(),
                    rpc_url,
                    keys.resource_owners[i].clone(),
                    identity.pubkey(),
                    host,
                );
                provisioner_config.interval = config.interval;
                // Registered before its provisioner starts when its address
                // is known, so that the provisioner's first round finds it.
                // The core operator consents to the resource node under it.
                let consent = keypair_file(&keys.core_operator)?;
                let register = |endpoint: String| {
                    let owner_client = AetherClient::new(rpc_url, owner.insecure_clone());
                    let (id, consent) = (identity.insecure_clone(), consent.insecure_clone());
                    blocking(move || {
                        chain::ensure_resource_record(
                            &owner_client,
                            &id,
                            &consent,
                            &endpoint,
                            capacity(),
                        )
                    })
                };
                let mut record = None;
                if config.ports.vm_host != 0 {
                    let endpoint = format!(
                        "http://{}",
                        SocketAddr::new(config.bind, plus(config.ports.vm_host))
                    );
                    record = Some(register(endpoint).await?);
                }
                let provisioner = aether_provisioner::Provisioner::start(
                    provisioner_config,
                    SocketAddr::new(config.bind, plus(config.ports.provisioner)),
                )
                .await
                .map_err(part("a provisioner"))?;
                let host_url = provisioner.host_url();
                started.provisioners.push(provisioner);
                resource_records.push(match record {
                    Some(record) => record,
                    None => register(host_url).await?,
                });
            }

            progress("starting the indexer, settler, checker and dns keeper");
            let keepers = dir(data.join("keepers"))?;
            let mut indexer = aether_indexer::Config::new(
                vec![rpc_url.to_owned()],
                keepers.join("indexer.sqlite"),
            );
            indexer.bind = config.bind;
            indexer.port = config.ports.indexer;
            started.indexer = Some(
                aether_indexer::Indexer::start(indexer)
                    .await
                    .map_err(part("the indexer"))?,
            );
            let mut settler = aether_settler::Config::new(
                rpc_url,
                keys.core_operator.clone(),
                keepers.join("settler.sqlite"),
            );
            settler.bind = config.bind;
            settler.port = config.ports.settler;
            settler.interval = config.interval;
            started.settler = Some(
                aether_settler::Settler::start(settler)
                    .await
                    .map_err(part("the settler"))?,
            );
            let mut checker = aether_checker::Config::new(
                rpc_url,
                keys.core_operator.clone(),
                keepers.join("checker.sqlite"),
            );
            checker.bind = config.bind;
            checker.port = config.ports.checker;
            checker.interval = config.interval.max(Duration::from_secs(10));
            checker.reference =
                reference
                    .clone()
                    .map(|program| aether_checker::config::Reference {
                        program,
                        path: "/".into(),
                        expect: reference::REFERENCE_TEXT.into(),
                    });
            started.checker = Some(
                aether_checker::Checker::start(checker)
                    .await
                    .map_err(part("the checker"))?,
            );
            if let Some(resolver) = config.dns_resolver {
                let mut dns = aether_dns::Config::new(
                    rpc_url,
                    keys.core_operator.clone(),
                    resolver,
                    keepers.join("dns.sqlite"),
                );
                dns.bind = config.bind;
                dns.port = config.ports.dns;
                dns.interval = config.interval;
                started.dns = Some(
                    aether_dns::DnsKeeper::start(dns)
                        .await
                        .map_err(part("the dns keeper"))?,
                );
            }

            progress("starting the load balancer");
            let mut lb = aether_lb::Config::new(node_url.clone(), rpc_url);
            lb.bind = config.bind;
            lb.port = config.ports.lb;
            lb.refresh = config.interval.min(lb.refresh);
            let lb = aether_lb::LoadBalancer::start(lb)
                .await
                .map_err(part("the load balancer"))?;
            // Ready means a request through the load balancer can start a
            // program: it has read every resource node's announcement.
            progress("waiting for the resource nodes to announce themselves");
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while lb.standby().len() < resources.len() {
                if tokio::time::Instant::now() > deadline {
                    lb.stop().await;
                    return Err(ClusterError::Part {
                        part: "the load balancer",
                        why: "the resource nodes did not announce themselves within 60 s".into(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok::<_, ClusterError>((lb, resource_records, reference))
        }
        .await;
        match result {
            Ok((lb, resource_records, reference)) => Ok(Cluster {
                reference,
                localnet: None,
                node,
                provisioners: std::mem::take(&mut started.provisioners),
                indexer: started.indexer.expect("started"),
                settler: started.settler.expect("started"),
                checker: started.checker.expect("started"),
                dns: started.dns,
                lb,
                keys: keys.clone(),
                rpc_url: rpc_url.to_owned(),
                data_dir: data.to_path_buf(),
                resource_records,
                costs: config.costs,
            }),
            Err(e) => {
                started.stop().await;
                node.stop().await;
                Err(e)
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
        self.localnet.as_ref().expect("running until stopped")
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

    /// Stops every part, the chain last.
    pub async fn stop(self) {
        self.lb.stop().await;
        // The keepers and resource nodes stop as after a failed start.
        Started {
            provisioners: self.provisioners,
            indexer: Some(self.indexer),
            settler: Some(self.settler),
            checker: Some(self.checker),
            dns: self.dns,
        }
        .stop()
        .await;
        self.node.stop().await;
        stop_localnet(self.localnet).await;
    }
}

/// Parts started so far, stopped together when a later one fails.
#[derive(Default)]
struct Started {
    provisioners: Vec<aether_provisioner::Provisioner>,
    indexer: Option<aether_indexer::Indexer>,
    settler: Option<aether_settler::Settler>,
    checker: Option<aether_checker::Checker>,
    dns: Option<aether_dns::DnsKeeper>,
}

impl Started {
    async fn stop(self) {
        if let Some(dns) = self.dns {
            dns.stop().await;
        }
        if let Some(checker) = self.checker {
            checker.stop().await;
        }
        if let Some(settler) = self.settler {
            settler.stop().await;
        }
        if let Some(indexer) = self.indexer {
            indexer.stop().await;
        }
        for provisioner in self.provisioners {
            provisioner.stop().await;
        }
    }
}

async fn stop_localnet(localnet: Option<Localnet>) {
    if let Some(localnet) = localnet {
        // Stopping joins threads: keep it off the async workers.
        let _ = tokio::task::spawn_blocking(move || localnet.stop()).await;
    }
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
