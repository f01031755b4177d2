//! Aether's provisioner, on a resource node: watches the PROGRAM and
//! INSTANCE messages of its core node and the streams that pay for them; joins a stream when
//! its share of the rate meets this node's minimum price and the node has
//! room; then has vm-host fetch the code volume (by content id, cached)
//! and serve the program at `/vm/<item hash>/`. It announces what it serves
//! with a POST of type `aether-serving`, so routers can find it.
//!
//! Each round derives everything from the chain and the core node: a
//! newer code volume (an amended STORE, with `use_latest`) is served in
//! place of the old (running VMs finish their requests), and a program
//! whose stream is exhausted or closed, or that was forgotten, stops and
//! its volume is freed. A restart converges to the same set. Custom
//! domains that core nodes made live for a program served here are handed
//! to vm-host, which routes them and obtains their certificates by ACME.
//!
//! An INSTANCE is served the same way, except that its VM runs from the
//! moment it is provisioned, requests or not, from its own root file
//! system (see [`spec`]).
//!
//! A load balancer may ask for a program with `POST /serve/<item hash>`
//! (a cold start, more capacity, or a replacement for a node that died):
//! the provisioner then runs a round at once and joins that program's
//! stream if it is worth joining and there is room, even when it runs
//! `on_demand` (joining nothing unasked). It announces its own URL, so
//! load balancers know whom to ask.
//!
//! Layout: `spec.rs` maps a PROGRAM or INSTANCE to what vm-host runs;
//! `plan.rs` holds a round's pure decisions (which stream pays, what
//! fits, why not); `worker.rs` runs a round (read the chain and the core
//! node, decide, join streams) and `worker/converge.rs` acts on it (starts
//! and stops programs on vm-host, binds domains, announces); `api.rs` is
//! the HTTP API (`/serving`, `/serve`; `/metrics` shows [`Metrics`], as
//! every keeper's does); `config.rs` the settings. This file: the running
//! provisioner's handle.

pub mod plan;
pub mod spec;

mod api;
mod config;
mod worker;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use aether_keeper::{Counters, Keeper, Metric};
use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::programs::client::ProgramClientError;
use aether_vm_host::Host;
use worker::Worker;

pub use config::Config;

/// Why the provisioner could not start or a round failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionerError {
    /// The owner's keypair file.
    #[error("reading the keypair {0}: {1}")]
    Keypair(String, String),
    /// vm-host did not start.
    #[error("starting vm-host: {0}")]
    Host(String),
    /// A file or directory.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// Reading or sending to the cluster.
    #[error(transparent)]
    Chain(#[from] ProgramClientError),
    /// The resource node is not registered.
    #[error("no resource node is registered with identity {0}")]
    NotRegistered(Pubkey),
    /// The core node did not answer.
    #[error("core node: {0}")]
    Node(String),
    /// A worker task ended abnormally.
    #[error(transparent)]
    Task(#[from] aether_keeper::TaskFailed),
}

/// Counters shown on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Rounds done.
    pub rounds: AtomicU64,
    /// Rounds that failed.
    pub round_errors: AtomicU64,
    /// Streams joined.
    pub joined: AtomicU64,
    /// Programs started (or updated) on vm-host.
    pub started: AtomicU64,
    /// Programs stopped.
    pub stopped: AtomicU64,
    /// Announcements posted.
    pub announcements: AtomicU64,
    /// Programs served now.
    pub serving: AtomicU64,
}

impl Counters for Metrics {
    fn lines(&self) -> Vec<Metric<'_>> {
        vec![
            ("aether_provisioner_rounds_total", "counter", &self.rounds),
            (
                "aether_provisioner_round_errors_total",
                "counter",
                &self.round_errors,
            ),
            ("aether_provisioner_joined_total", "counter", &self.joined),
            ("aether_provisioner_started_total", "counter", &self.started),
            ("aether_provisioner_stopped_total", "counter", &self.stopped),
            (
                "aether_provisioner_announcements_total",
                "counter",
                &self.announcements,
            ),
            ("aether_provisioner_serving", "gauge", &self.serving),
        ]
    }

    fn round_counts(&self) -> (&AtomicU64, &AtomicU64) {
        (&self.rounds, &self.round_errors)
    }
}

/// A program served here, and the volume it was built from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Served {
    /// The PROGRAM's item hash.
    pub program: String,
    /// The code file's content id.
    pub code_file: String,
    /// The stream that pays for it.
    pub stream: String,
    /// vCPUs and memory (MiB) it may use.
    pub vcpus: u32,
    /// Memory, MiB.
    pub memory_mib: u32,
}

/// A running provisioner and its vm-host.
pub struct Provisioner {
    config: Config,
    host_url: String,
    keeper: Keeper<Metrics>,
    serving: Arc<Mutex<BTreeMap<String, Served>>>,
    host: Arc<tokio::sync::Mutex<Option<Host>>>,
}

impl Provisioner {
    /// Starts vm-host, binds the API on `api` and starts provisioning.
    pub async fn start(config: Config, api: SocketAddr) -> Result<Provisioner, ProvisionerError> {
        let keypair = solana_keypair::read_keypair_file(&config.keypair).map_err(|e| {
            ProvisionerError::Keypair(config.keypair.display().to_string(), e.to_string())
        })?;
        let account = SolanaAccount::from_keypair_file(&config.keypair).map_err(|e| {
            ProvisionerError::Keypair(config.keypair.display().to_string(), e.to_string())
        })?;
        let host = Host::start(config.host.clone())
            .await
            .map_err(|e| ProvisionerError::Host(e.to_string()))?;
        let host_url = host.url();
        let host = Arc::new(tokio::sync::Mutex::new(Some(host)));
        let metrics = Arc::new(Metrics::default());
        let serving = Arc::new(Mutex::new(BTreeMap::new()));
        let slot = Arc::new(std::sync::OnceLock::new());
        let app = api::router(serving.clone(), slot.clone());
        let mut keeper = Keeper::serve(api, app, metrics.clone())
            .await
            .map_err(|e| ProvisionerError::Io(api.to_string(), e))?;
        let addr = keeper.addr();
        let interval = config.interval;
        let kept = config.clone();
        let worker = Arc::new(Worker::new(
            config,
            keypair,
            account,
            keeper.url(),
            host.clone(),
            serving.clone(),
            metrics,
        ));
        let _ = slot.set(worker.clone());
        keeper.spawn_rounds("provisioner", interval, worker, |worker| async move {
            worker.round().await
        });
        tracing::info!(%addr, vm_host = %host_url, "provisioner started");
        Ok(Provisioner {
            config: kept,
            host_url,
            keeper,
            serving,
            host,
        })
    }

    /// The settings it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// vm-host's URL: where the programs answer.
    pub fn host_url(&self) -> String {
        self.host_url.clone()
    }

    /// Where vm-host serves custom domains over HTTPS, if it does.
    pub async fn https_addr(&self) -> Option<SocketAddr> {
        self.host.lock().await.as_ref().and_then(|h| h.https_addr())
    }

    /// vm-host's supervisor of VMs, while vm-host runs.
    pub async fn supervisor(&self) -> Option<Arc<aether_vm_host::supervisor::Supervisor>> {
        self.host
            .lock()
            .await
            .as_ref()
            .map(|h| h.supervisor().clone())
    }

    /// The provisioner's API.
    pub fn url(&self) -> String {
        self.keeper.url()
    }

    /// Its counters.
    pub fn metrics(&self) -> &Metrics {
        self.keeper.metrics()
    }

    /// The programs served now.
    pub fn serving(&self) -> Vec<Served> {
        self.serving.lock().unwrap().values().cloned().collect()
    }

    /// Stops provisioning, then vm-host and its VMs.
    pub async fn stop(self) {
        self.keeper.stop().await;
        if let Some(host) = self.host.lock().await.take() {
            host.stop().await;
        }
    }
}

/// Runs a provisioner until `shutdown` resolves; `on_ready` sees it started.
pub async fn run(
    config: Config,
    api: SocketAddr,
    on_ready: impl FnOnce(&Provisioner),
    shutdown: impl Future<Output = ()>,
) -> Result<(), ProvisionerError> {
    let start = Provisioner::start(config, api);
    aether_keeper::run("provisioner", start, on_ready, shutdown, Provisioner::stop).await
}
