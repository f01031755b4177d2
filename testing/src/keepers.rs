//! What the keepers' end-to-end tests set up the same way: a localnet with
//! funded keys and a core node ([`stage`]), provisioners serving resource
//! nodes with QEMU guests ([`provisioners`], [`provisioner_config`]), paid
//! resource nodes and their provisioners ([`paid_providers`],
//! [`paid_provider_config`]), and a load balancer's settings
//! ([`lb_config`]).

use std::path::Path;
use std::time::Duration;

use aether_localnet::Localnet;
use aether_provisioner::Provisioner;
use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::node_client::NodeClient;
use aether_sdk::programs::escrow;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::{chain_with_keys, compute_stream, paid_resource_nodes, resource_of, vm};

/// A bootstrapped localnet with funded keys and a core node: what
/// [`stage`] starts.
pub struct Stage {
    /// The localnet (100 ms slots).
    pub localnet: Localnet,
    /// The funded keys, in order; the first is the dApp's.
    pub keys: Vec<Keypair>,
    /// The core node, on a free port.
    pub core: aether_node::Node,
    /// A client of the core node.
    pub node: NodeClient,
    /// The dApp (`keys[0]`) as the signer of its messages.
    pub dapp: SolanaAccount,
}

/// `n` funded keys on a new bootstrapped localnet ([`chain_with_keys`]),
/// and a core node with its data under `dir/node` ([`core_node`]).
pub async fn stage(n: usize, dir: &Path) -> Stage {
    let (localnet, _report, keys) = chain_with_keys(n).await;
    let core = core_node(dir).await;
    let node = NodeClient::new(core.url());
    let dapp = SolanaAccount::from_bytes(&keys[0].to_bytes()).expect("the dApp's account");
    Stage {
        localnet,
        keys,
        core,
        node,
        dapp,
    }
}

/// A core node on a free port, its data under `dir/node`.
pub async fn core_node(dir: &Path) -> aether_node::Node {
    let mut config = aether_node::Config::new(dir.join("node"));
    config.port = 0;
    aether_node::Node::start(config)
        .await
        .expect("the core node starts")
}

/// A provisioner's settings for tests: for the core node at `node_url`
/// and the chain at `rpc_url`, on the resource node `identity`, signing
/// as `owner` (whose key is written to `keypair`), driving a vm-host with
/// the settings `host`; a round every 300 ms.
pub fn provisioner_config(
    node_url: impl Into<String>,
    rpc_url: impl Into<String>,
    owner: &Keypair,
    keypair: &Path,
    identity: Pubkey,
    host: aether_vm_host::Config,
) -> aether_provisioner::Config {
    solana_keypair::write_keypair_file(owner, keypair).expect("the owner's keypair file");
    let mut config = aether_provisioner::Config::new(node_url, rpc_url, keypair, identity, host);
    config.interval = Duration::from_millis(300);
    config
}

/// A provisioner started with `config`, its API on a free loopback port.
pub async fn start_provisioner(config: aether_provisioner::Config) -> Provisioner {
    Provisioner::start(config, "127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("the provisioner starts")
}

/// One started provisioner for each (owner, identity) of `nodes`, in
/// order: the `i`th signs with its owner's key, written to
/// `dir/owner{i}.json`, and drives a vm-host from [`vm::host_config`]
/// under `dir/crn{i}` ([`provisioner_config`]); with `on_demand`, each
/// joins streams only when a load balancer asks.
pub async fn provisioners(
    node_url: &str,
    rpc_url: &str,
    dir: &Path,
    nodes: &[(&Keypair, &Keypair)],
    on_demand: bool,
) -> Vec<Provisioner> {
    let mut started = Vec::with_capacity(nodes.len());
    for (i, (owner, identity)) in nodes.iter().enumerate() {
        let host = vm::host_config(&dir.join(format!("crn{i}"))).await;
        let mut config = provisioner_config(
            node_url,
            rpc_url,
            owner,
            &dir.join(format!("owner{i}.json")),
            identity.pubkey(),
            host,
        );
        config.on_demand = on_demand;
        started.push(start_provisioner(config).await);
    }
    started
}

/// What [`paid_providers`] sets up: a [`Stage`] whose dApp posted the
/// test program and pays for it, and the provisioners of the resource
/// nodes it pays.
pub struct PaidStage {
    /// The localnet (100 ms slots).
    pub localnet: Localnet,
    /// The funded keys, in order: the dApp's, the core operator's, then
    /// the resource nodes' owners (and any others asked for).
    pub keys: Vec<Keypair>,
    /// The core node, on a free port.
    pub core: aether_node::Node,
    /// A client of the core node.
    pub node: NodeClient,
    /// The dApp (`keys[0]`) as the signer of its messages.
    pub dapp: SolanaAccount,
    /// The item hash of the STORE of the program's code volume.
    pub store: String,
    /// The PROGRAM's item hash.
    pub hash: String,
    /// The resource of the program's stream ([`resource_of`] its hash).
    pub resource: [u8; 32],
    /// The resource nodes' identities, in order: the `i`th is owned by
    /// `keys[2 + i]`.
    pub ids: Vec<Keypair>,
    /// One started provisioner for each resource node, in order.
    pub provisioners: Vec<Provisioner>,
}

/// `n` funded keys and a core node under `dir` ([`stage`]); the dApp
/// (`keys[0]`) posts the test program with `memory_mib` MiB
/// ([`vm::post_program`]); the core operator (`keys[1]`) registers a core
/// node and each of the `providers` owners after it (`keys[2]`,
/// `keys[3]`…) a resource node under it, and the dApp opens one compute
/// stream for the program, `rate` base units a second shared by
/// `providers` replicas, `deposit` paid in ([`paid_resource_nodes`],
/// [`compute_stream`]); then one provisioner for each resource node, in
/// order ([`provisioners`], joining streams only when asked with
/// `on_demand`).
pub async fn paid_providers(
    dir: &Path,
    n: usize,
    memory_mib: u64,
    providers: u8,
    rate: u64,
    deposit: u64,
    on_demand: bool,
) -> PaidStage {
    let Stage {
        localnet,
        keys,
        core,
        node,
        dapp,
    } = stage(n, dir).await;
    let (store, hash) = vm::post_program(&node, &dapp, dir, memory_mib).await;
    let resource = resource_of(&hash);
    let owners: Vec<&Keypair> = keys[2..2 + usize::from(providers)].iter().collect();
    let ids = paid_resource_nodes(
        &localnet,
        &keys[1],
        &owners,
        &keys[0],
        vec![compute_stream(resource, rate, providers, deposit)],
    )
    .await;
    let nodes: Vec<(&Keypair, &Keypair)> = owners.iter().copied().zip(&ids).collect();
    let started = provisioners(&core.url(), &localnet.rpc_url(), dir, &nodes, on_demand).await;
    PaidStage {
        localnet,
        keys,
        core,
        node,
        dapp,
        store,
        hash,
        resource,
        ids,
        provisioners: started,
    }
}

/// On `localnet`: the core operator (`keys[1]`) registers a core node and
/// the owner `keys[2]` one resource node under it, and the dApp
/// (`keys[0]`) opens `streams` ([`paid_resource_nodes`]). Returns the
/// settings of a provisioner for that node and the core node `core`,
/// signing as `keys[2]` (its key written to `dir/owner.json`), driving a
/// vm-host from [`vm::host_config`] under `dir/crn`
/// ([`provisioner_config`]).
pub async fn paid_provider_config(
    localnet: &Localnet,
    keys: &[Keypair],
    core: &aether_node::Node,
    dir: &Path,
    streams: Vec<escrow::OpenStreamArgs>,
) -> aether_provisioner::Config {
    let identity = paid_resource_nodes(localnet, &keys[1], &[&keys[2]], &keys[0], streams)
        .await
        .remove(0);
    let host = vm::host_config(&dir.join("crn")).await;
    provisioner_config(
        core.url(),
        localnet.rpc_url(),
        &keys[2],
        &dir.join("owner.json"),
        identity.pubkey(),
        host,
    )
}

/// A load balancer's settings for tests: for the core node at `node_url`
/// and the chain at `rpc_url`, on a free port, reading routes every 300 ms.
pub fn lb_config(node_url: impl Into<String>, rpc_url: impl Into<String>) -> aether_lb::Config {
    let mut config = aether_lb::Config::new(node_url, rpc_url);
    config.port = 0;
    config.refresh = Duration::from_millis(300);
    config
}
