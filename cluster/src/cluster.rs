//! The running [`Cluster`]: its start, stage by stage, what it tells a
//! person, its stop, and [`run`].

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use aether_localnet::Localnet;
use aether_sdk::anchor_lang::prelude::Pubkey;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::keys::keypair_file;
use crate::parts::Parts;
use crate::{dir, ClusterError, Config, Keys};

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
