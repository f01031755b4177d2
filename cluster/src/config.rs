//! What `aether up` starts and where: [`Config`], [`Ports`] and where the
//! guest runtime comes from.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_vm_host::BackendChoice;

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
    /// Post the checker's reference program (see [`reference`](crate::reference)), so that
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
