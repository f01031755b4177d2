//! The cluster's parts: started one stage at a time into one [`Parts`],
//! and stopped in reverse order, whether the cluster stops or a later
//! stage fails.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aether_localnet::Localnet;
use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::programs::client::AetherClient;
use solana_keypair::Keypair;

use crate::error::part;
use crate::guest::prepare_runtime;
use crate::keys::keypair_file;
use crate::resource::Setup;
use crate::{blocking, chain, dir, reference, ClusterError, Config, Keys};

/// What has started, in the order it starts.
#[derive(Default)]
pub(crate) struct Parts {
    pub localnet: Option<Localnet>,
    pub node: Option<aether_node::Node>,
    pub provisioners: Vec<aether_provisioner::Provisioner>,
    pub indexer: Option<aether_indexer::Indexer>,
    pub settler: Option<aether_settler::Settler>,
    pub checker: Option<aether_checker::Checker>,
    pub dns: Option<aether_dns::DnsKeeper>,
    pub lb: Option<aether_lb::LoadBalancer>,
}

/// Who acts on the chain for the cluster, once it is up.
pub(crate) struct Chain {
    pub rpc_url: String,
    pub operator: Arc<AetherClient>,
}

impl Parts {
    /// Stops what started, the last first; the chain goes last.
    pub async fn stop(self) {
        if let Some(lb) = self.lb {
            lb.stop().await;
        }
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
        for provisioner in self.provisioners.into_iter().rev() {
            provisioner.stop().await;
        }
        if let Some(node) = self.node {
            node.stop().await;
        }
        if let Some(localnet) = self.localnet {
            // Stopping joins threads: keep it off the async workers.
            let _ = tokio::task::spawn_blocking(move || localnet.stop()).await;
        }
    }

    /// The localnet, bootstrapped and funding `fund`, with the core
    /// operator's staking node active.
    pub async fn start_chain(
        &mut self,
        config: &Config,
        ledger: &Path,
        operator: &Keypair,
        fund: Vec<Pubkey>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Chain, ClusterError> {
        progress("starting the localnet");
        let rpc_port = match config.ports.rpc {
            0 => aether_localnet::free_port_pair().ok_or_else(|| ClusterError::Part {
                part: "the localnet",
                why: "no free pair of ports on loopback".into(),
            })?,
            port => port,
        };
        let chain_config = aether_localnet::Config {
            bind: config.bind,
            rpc_port,
            ledger: Some(ledger.to_path_buf()),
            slot_ms: config.slot_ms,
            bootstrap: true,
            fund,
        };
        let localnet = self.localnet.insert(
            Localnet::start(chain_config.clone())
                .await
                .map_err(part("the localnet"))?,
        );
        let rpc_url = localnet.rpc_url();
        aether_localnet::bootstrap(&chain_config, ledger)
            .await
            .map_err(part("the localnet's bootstrap"))?;
        progress("activating the core operator's node");
        let client = Arc::new(AetherClient::new(&rpc_url, operator.insecure_clone()));
        let c = client.clone();
        if !blocking(move || chain::ensure_staking_node(&c)).await? {
            // The local clock moves to the next epoch, which is closed:
            // the node becomes active, as it would after a day.
            let c = client.clone();
            let end = blocking(move || chain::epoch_end(&c)).await?;
            localnet
                .time_travel(end + 1)
                .await
                .map_err(part("the localnet's clock"))?;
            let c = client.clone();
            blocking(move || chain::crank(&c)).await?;
        }
        Ok(Chain {
            rpc_url,
            operator: client,
        })
    }

    /// The core node, anchoring and charging, and its registry record;
    /// returns its URL.
    pub async fn start_core(
        &mut self,
        config: &Config,
        data: &Path,
        chain: &Chain,
        keys: &Keys,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<String, ClusterError> {
        progress("starting the core node");
        let rpc_url = &chain.rpc_url;
        let mut node_config = aether_node::Config::new(data.join("node"));
        node_config.bind = config.bind;
        node_config.port = config.ports.node;
        node_config.anchoring = Some(aether_node::anchoring::AnchorConfig {
            rpc_url: rpc_url.clone(),
            keypair: keys.authority.clone(),
            interval: Duration::from_secs(10),
            max_messages: 10_000,
        });
        node_config.charging = config
            .costs
            .map(|costs| aether_node::charging::ChargingConfig {
                rpc_url: rpc_url.clone(),
                costs,
                grace: config.collect_grace,
                interval: config.interval.max(Duration::from_secs(10)),
            });
        let node = self.node.insert(
            aether_node::Node::start(node_config)
                .await
                .map_err(part("the core node"))?,
        );
        let node_url = node.url();
        // Peers are not dialled in a one-node cluster; the record names
        // the port beside the API, as `aether node run` would use.
        let api_port = node.addr().port();
        let p2p = format!("/ip4/{}/tcp/{}", config.bind, api_port.saturating_add(1));
        let (c, url) = (chain.operator.clone(), node_url.clone());
        // Resource nodes register under it (by its operator's consent).
        blocking(move || chain::ensure_core_record(&c, &url, &p2p)).await?;
        Ok(node_url)
    }

    /// Each resource node: its vm-host under a provisioner, and its
    /// registry record under the core node (by the core operator's
    /// consent); returns the records.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_resource_nodes(
        &mut self,
        config: &Config,
        data: &Path,
        runtime_dir: &Path,
        (rpc_url, node_url): (&str, &str),
        keys: &Keys,
        resources: &[(Keypair, Keypair)],
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Vec<Pubkey>, ClusterError> {
        let setup = Setup {
            config,
            data,
            runtime_dir,
            rpc_url,
            node_url,
            consent: keypair_file(&keys.core_operator)?,
        };
        let mut records = Vec::new();
        for (i, (owner, identity)) in resources.iter().enumerate() {
            progress(&format!(
                "starting resource node {} of {} (provisioner and vm-host)",
                i + 1,
                resources.len()
            ));
            let owner = (keys.resource_owners[i].as_path(), owner);
            records.push(self.start_resource_node(&setup, i, owner, identity).await?);
        }
        Ok(records)
    }

    /// The `i`-th resource node, of `owner` (its keypair file and key):
    /// its provisioner started and its record made; returns the record.
    async fn start_resource_node(
        &mut self,
        setup: &Setup<'_>,
        i: usize,
        (owner_key, owner): (&Path, &Keypair),
        identity: &Keypair,
    ) -> Result<Pubkey, ClusterError> {
        let provisioner_config = setup.provisioner(i, owner_key, identity);
        // Registered before its provisioner starts when its address is
        // known, so that the provisioner's first round finds it.
        let mut record = None;
        if let Some(endpoint) = setup.known_endpoint(i) {
            record = Some(setup.register(owner, identity, endpoint).await?);
        }
        let provisioner =
            aether_provisioner::Provisioner::start(provisioner_config, setup.provisioner_api(i))
                .await
                .map_err(part("a provisioner"))?;
        let host_url = provisioner.host_url();
        self.provisioners.push(provisioner);
        match record {
            Some(record) => Ok(record),
            None => setup.register(owner, identity, host_url).await,
        }
    }

    /// The indexer, settler, checker and, given a resolver, the dns keeper,
    /// run for the core operator.
    pub async fn start_keepers(
        &mut self,
        config: &Config,
        data: &Path,
        rpc_url: &str,
        keys: &Keys,
        reference: Option<String>,
    ) -> Result<(), ClusterError> {
        let keepers = dir(data.join("keepers"))?;
        let mut indexer =
            aether_indexer::Config::new(vec![rpc_url.to_owned()], keepers.join("indexer.sqlite"));
        indexer.bind = config.bind;
        indexer.port = config.ports.indexer;
        self.indexer = Some(
            aether_indexer::Indexer::start(indexer)
                .await
                .map_err(part("the indexer"))?,
        );
        let operator = keys.core_operator.clone();
        let mut settler =
            aether_settler::Config::new(rpc_url, operator.clone(), keepers.join("settler.sqlite"));
        settler.bind = config.bind;
        settler.port = config.ports.settler;
        settler.interval = config.interval;
        self.settler = Some(
            aether_settler::Settler::start(settler)
                .await
                .map_err(part("the settler"))?,
        );
        let mut checker =
            aether_checker::Config::new(rpc_url, operator.clone(), keepers.join("checker.sqlite"));
        checker.bind = config.bind;
        checker.port = config.ports.checker;
        checker.interval = config.interval.max(Duration::from_secs(10));
        if let Some(program) = reference {
            checker.set_reference(aether_checker::config::Reference {
                program,
                path: "/".into(),
                expect: reference::REFERENCE_TEXT.into(),
            });
        }
        self.checker = Some(
            aether_checker::Checker::start(checker)
                .await
                .map_err(part("the checker"))?,
        );
        if let Some(resolver) = config.dns_resolver {
            let mut dns =
                aether_dns::Config::new(rpc_url, operator, resolver, keepers.join("dns.sqlite"));
            dns.bind = config.bind;
            dns.port = config.ports.dns;
            dns.interval = config.interval;
            self.dns = Some(
                aether_dns::DnsKeeper::start(dns)
                    .await
                    .map_err(part("the dns keeper"))?,
            );
        }
        Ok(())
    }

    /// The load balancer, once it has read every resource node's
    /// announcement: ready means a request through it can start a program.
    pub async fn start_lb(
        &mut self,
        config: &Config,
        (rpc_url, node_url): (&str, &str),
        resource_nodes: usize,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<(), ClusterError> {
        progress("starting the load balancer");
        let mut lb = aether_lb::Config::new(node_url.to_owned(), rpc_url);
        lb.bind = config.bind;
        lb.port = config.ports.lb;
        lb.refresh = config.interval.min(lb.refresh);
        let lb = self.lb.insert(
            aether_lb::LoadBalancer::start(lb)
                .await
                .map_err(part("the load balancer"))?,
        );
        progress("waiting for the resource nodes to announce themselves");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while lb.standby().len() < resource_nodes {
            if tokio::time::Instant::now() > deadline {
                return Err(ClusterError::Part {
                    part: "the load balancer",
                    why: "the resource nodes did not announce themselves within 60 s".into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    /// The reference program and the guest runtime, before the resource
    /// nodes.
    pub async fn prepare(
        config: &Config,
        data: &Path,
        node_url: &str,
        keys: &Keys,
        operator: Arc<AetherClient>,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<(Option<String>, PathBuf), ClusterError> {
        let reference = if config.reference {
            progress("posting the checker's reference program");
            Some(reference::ensure(data, node_url, &keys.core_operator, operator).await?)
        } else {
            None
        };
        let runtime_dir = prepare_runtime(&config.runtime, data, progress).await?;
        Ok((reference, runtime_dir))
    }
}
