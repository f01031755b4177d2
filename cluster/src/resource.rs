//! The resource nodes' side of the start: what each offers, its vm-host
//! and provisioner settings, and its registry record.

use std::net::SocketAddr;
use std::path::Path;

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::programs::client::AetherClient;
use aether_sdk::programs::registry;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::keys::suffix;
use crate::{blocking, chain, ClusterError, Config};

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

/// What every resource node of the cluster starts with.
pub(crate) struct Setup<'a> {
    pub config: &'a Config,
    pub data: &'a Path,
    pub runtime_dir: &'a Path,
    pub rpc_url: &'a str,
    pub node_url: &'a str,
    /// The core operator, consenting to each record under its core node.
    pub consent: Keypair,
}

impl Setup<'_> {
    /// The `i`-th node's port (from 0): `port` plus `i`, or 0 (a free
    /// one) for 0.
    fn port(port: u16, i: usize) -> u16 {
        if port == 0 {
            0
        } else {
            port.saturating_add(i as u16)
        }
    }

    /// The `i`-th node's vm-host settings.
    fn host(&self, i: usize) -> aether_vm_host::Config {
        let config = self.config;
        let mut host = aether_vm_host::Config::new(
            self.data.join(format!("crn{}", suffix(i))),
            self.runtime_dir.to_path_buf(),
        );
        host.bind = config.bind;
        host.port = Self::port(config.ports.vm_host, i);
        host.backend = config.backend;
        host.https_port = config.ports.https.map(|port| Self::port(port, i));
        host.acme = config.acme.clone();
        host.limits.idle_timeout = config.idle_timeout;
        host.vcpus_per_core = VCPUS_PER_CORE;
        host
    }

    /// The `i`-th node's provisioner settings, its vm-host's within; it
    /// acts with the owner's keypair file `owner_key`.
    pub fn provisioner(
        &self,
        i: usize,
        owner_key: &Path,
        identity: &Keypair,
    ) -> aether_provisioner::Config {
        let mut provisioner = aether_provisioner::Config::new(
            self.node_url.to_owned(),
            self.rpc_url,
            owner_key.to_path_buf(),
            identity.pubkey(),
            self.host(i),
        );
        provisioner.interval = self.config.interval;
        provisioner
    }

    /// Where the `i`-th node's provisioner serves its API.
    pub fn provisioner_api(&self, i: usize) -> SocketAddr {
        SocketAddr::new(
            self.config.bind,
            Self::port(self.config.ports.provisioner, i),
        )
    }

    /// The `i`-th node's vm-host URL when its port is set, so known before
    /// it starts; `None` when it picks a free one.
    pub fn known_endpoint(&self, i: usize) -> Option<String> {
        let config = self.config;
        (config.ports.vm_host != 0).then(|| {
            format!(
                "http://{}",
                SocketAddr::new(config.bind, Self::port(config.ports.vm_host, i))
            )
        })
    }

    /// The registry record of the node `identity` of `owner` at
    /// `endpoint` under the core node, made unless it exists.
    pub async fn register(
        &self,
        owner: &Keypair,
        identity: &Keypair,
        endpoint: String,
    ) -> Result<Pubkey, ClusterError> {
        let owner_client = AetherClient::new(self.rpc_url, owner.insecure_clone());
        let (id, consent) = (identity.insecure_clone(), self.consent.insecure_clone());
        blocking(move || {
            chain::ensure_resource_record(&owner_client, &id, &consent, &endpoint, capacity())
        })
        .await
    }
}
