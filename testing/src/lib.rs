//! What Aether's tests share: a bootstrapped localnet with funded keys,
//! free ports, waiting for a condition with a deadline, a benchmark's
//! runtime ([`block_on`]), (in [`vm`]) the guest runtime and a small
//! program for tests that boot VMs, and (in [`keepers`]) a core node,
//! provisioners, paid resource nodes and a load balancer's settings for
//! the keepers' tests.

use aether_sdk::programs::escrow;
use std::future::Future;
use std::time::Duration;

use aether_localnet::{BootstrapReport, Localnet};
use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::programs::client::AetherClient;
use solana_keypair::Keypair;
use solana_signer::Signer;

pub mod dns;
pub mod keepers;
pub mod pebble;
pub mod vm;

/// A bootstrapped localnet on free ports (100 ms slots), with `fund`
/// given SOL and 2,000,000 stake tokens each.
pub async fn chain_funding(fund: Vec<Pubkey>) -> (Localnet, BootstrapReport) {
    let config = aether_localnet::Config {
        rpc_port: aether_localnet::free_port_pair().expect("a free port pair"),
        slot_ms: 100,
        bootstrap: true,
        fund,
        ..aether_localnet::Config::default()
    };
    let localnet = Localnet::start(config).await.expect("localnet starts");
    let report = aether_localnet::bootstrap(localnet.config(), &localnet.key_dir())
        .await
        .expect("bootstrap");
    (localnet, report)
}

/// `n` new keys, funded on a new bootstrapped localnet.
pub async fn chain_with_keys(n: usize) -> (Localnet, BootstrapReport, Vec<Keypair>) {
    let keys: Vec<Keypair> = (0..n).map(|_| Keypair::new()).collect();
    let (localnet, report) = chain_funding(keys.iter().map(|k| k.pubkey()).collect()).await;
    (localnet, report, keys)
}

/// A program client paying with a copy of `key`.
pub fn client(localnet: &Localnet, key: &Keypair) -> AetherClient {
    AetherClient::new(&localnet.rpc_url(), key.insecure_clone())
}

/// Runs blocking program-client work off the async runtime.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

/// Runs `main` to its end on a new multi-threaded tokio runtime: a
/// benchmark's `fn main`.
pub fn block_on<F: Future>(main: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(main)
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Polls `check` every 100 ms until it gives `Some`, or panics naming
/// `what` after `timeout`.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The chain's clock (Unix seconds), as `client` reads it.
pub async fn chain_time(client: &std::sync::Arc<AetherClient>) -> i64 {
    let client = client.clone();
    blocking(move || client.unix_timestamp().expect("the chain's clock")).await
}

/// Polls `indexer`'s status until it has read up to `slot` (its
/// `synced_slot`), or panics naming `what` after 60 s.
pub async fn indexer_reaches(
    what: &str,
    indexer: &aether_sdk::indexer_client::IndexerClient,
    slot: u64,
) {
    wait_until(what, Duration::from_secs(60), || async {
        let status = indexer.status().await.ok()?;
        (status.synced_slot >= slot).then_some(())
    })
    .await;
}

/// Stake tokens have 6 decimals.
pub const TOKEN: u64 = 1_000_000;

/// Creates `user`'s staking node (600,000 tokens), registers it as a core
/// node at `endpoint`, and registers `resource` as a resource node under
/// it. Returns (core record, resource record).
pub fn register_nodes(
    client: &AetherClient,
    resource: &Keypair,
    endpoint: &str,
) -> Result<(Pubkey, Pubkey), aether_sdk::programs::client::ProgramClientError> {
    let core = register_core(client, endpoint)?;
    let record = register_resource(client, resource, None, endpoint)?;
    Ok((core, record))
}

/// Creates the payer's staking node (600,000 tokens, over the activation
/// threshold) and registers it as a core node at `endpoint`. Returns its
/// record.
pub fn register_core(
    client: &AetherClient,
    endpoint: &str,
) -> Result<Pubkey, aether_sdk::programs::client::ProgramClientError> {
    use aether_sdk::programs::{registry, staking};
    let user = client.payer();
    client.create_node(600_000 * TOKEN)?;
    client.send(vec![registry::register_core_node(
        user,
        registry::RegisterCoreNodeArgs {
            endpoint: endpoint.to_owned(),
            p2p_address: "/ip4/127.0.0.1/tcp/4025".into(),
        },
    )])?;
    Ok(registry::record(&staking::node(&user)))
}

/// Moves the cluster's clock just past the current epoch's end, as the chain
/// reckons it (never from the wall clock), and cranks the epoch: staking
/// nodes over the threshold become active. Returns the new epoch.
pub async fn next_epoch(localnet: &Localnet, cranker: AetherClient) -> u64 {
    use aether_sdk::programs::staking;
    let (cranker, end, now) = blocking(move || {
        let config = cranker.staking_config().expect("staking config");
        let now = cranker.unix_timestamp().expect("the chain's clock");
        (cranker, config.epoch_ends_at().expect("epoch end"), now)
    })
    .await;
    if now <= end {
        localnet.time_travel(end + 1).await.expect("time travel");
    }
    blocking(move || {
        let epoch = cranker.staking_config().expect("staking config").epoch;
        cranker
            .send(vec![staking::crank_epoch(cranker.payer(), epoch)])
            .expect("crank");
        cranker.staking_config().expect("staking config").epoch
    })
    .await
}

/// Registers `identity` as a resource node owned by the client's payer,
/// under the core node of `parent_operator`, who consents (`None`: the
/// payer's own core node). Returns its record.
pub fn register_resource(
    client: &AetherClient,
    identity: &Keypair,
    parent_operator: Option<&Keypair>,
    endpoint: &str,
) -> Result<Pubkey, aether_sdk::programs::client::ProgramClientError> {
    use aether_sdk::programs::registry;
    client.register_resource_node(
        identity,
        parent_operator,
        registry::RegisterResourceNodeArgs {
            endpoint: endpoint.to_owned(),
            capacity: registry::Capacity {
                vcpus: 4,
                memory_mib: 4096,
                disk_gib: 50,
            },
            min_price_compute_per_second: 1,
            min_price_storage_per_gb_month: 1,
        },
    )
}

/// On `localnet`: `core` stakes and registers a core node; each of
/// `owners` registers a resource node under it with a fresh identity
/// (returned, in order); `payer` opens each of `streams`.
pub async fn paid_resource_nodes(
    localnet: &Localnet,
    core: &Keypair,
    owners: &[&Keypair],
    payer: &Keypair,
    streams: Vec<escrow::OpenStreamArgs>,
) -> Vec<Keypair> {
    let identities: Vec<Keypair> = owners.iter().map(|_| Keypair::new()).collect();
    let core_client = client(localnet, core);
    let owner_clients: Vec<AetherClient> = owners.iter().map(|o| client(localnet, o)).collect();
    let ids: Vec<Keypair> = identities.iter().map(|k| k.insecure_clone()).collect();
    let payer = client(localnet, payer);
    let core_key = core.insecure_clone();
    blocking(move || {
        register_core(&core_client, "http://core.test").expect("the core node registers");
        for (i, (owner, id)) in owner_clients.iter().zip(&ids).enumerate() {
            register_resource(owner, id, Some(&core_key), &format!("http://crn{i}.test"))
                .expect("the resource node registers");
        }
        for stream in streams {
            payer.open_stream(stream).expect("the stream opens");
        }
    })
    .await;
    identities
}

/// The 32 bytes of an item hash (64 hex digits): a stream's resource.
pub fn resource_of(item_hash: &str) -> [u8; 32] {
    let mut resource = [0u8; 32];
    hex::decode_to_slice(item_hash, &mut resource).expect("an item hash is 64 hex digits");
    resource
}

/// A compute stream for `resource`: `rate` base units a second shared by
/// `replicas` providers, `deposit` paid in.
pub fn compute_stream(
    resource: [u8; 32],
    rate: u64,
    replicas: u8,
    deposit: u64,
) -> escrow::OpenStreamArgs {
    escrow::OpenStreamArgs {
        resource,
        kind: escrow::StreamKind::Compute,
        max_rate_per_second: rate,
        replicas,
        deposit,
        serve: escrow::ServePolicy::MinScore(0),
        allowed: Vec::new(),
        size_bytes: 0,
    }
}

/// Opens a compute stream from the payer for `resource` and tops it up
/// `top_ups` times with 1, 2, 3… base units. Returns the stream.
pub fn stream_activity(
    client: &AetherClient,
    resource: [u8; 32],
    rate: u64,
    replicas: u8,
    deposit: u64,
    top_ups: u64,
) -> Result<Pubkey, aether_sdk::programs::client::ProgramClientError> {
    client.open_stream(compute_stream(resource, rate, replicas, deposit))?;
    for i in 1..=top_ups {
        client.top_up(&client.payer(), &resource, i)?;
    }
    Ok(escrow::stream(&client.payer(), &resource))
}
