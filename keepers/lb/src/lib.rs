//! Aether's load balancer (`aether lb`): routes `/vm/<item hash>/…`, and
//! requests for live custom domains, to the resource nodes that announce
//! they serve the program. It holds no state of its own: routes come from
//! the `aether-serving` announcements on the core node (an announcement
//! counts only when its sender owns the node record it names), scores from
//! the registry, domains from their live bindings on chain.
//!
//! Each request goes to the least busy announcing node, best score first
//! among equals. A node that fails (no connection, or an answer cut short)
//! rests for a while and the request goes to the next one; answers are
//! read whole before they are sent on, so a client never sees a partial
//! answer. Any number of load balancers can run side by side.
//!
//! Placement: every provisioner announces itself (serving or not) with
//! the URL of its API. When no node serves a program, the request waits
//! while a random node of score at least `min_score` is asked to serve it
//! (`POST <provisioner>/serve/<hash>`: it joins the program's stream if it
//! pays enough and has a free slot) and then cold-starts it. When the
//! requests in flight for a program pass `scale_inflight` per serving
//! node, or its answers grow slower than `scale_latency`, or a node
//! serving it fails, one more node is asked in the background, at most
//! once per `place_cooldown`.
//!
//! Layout: `config.rs` the [`Config`]; `state.rs` the routes read from
//! announcements, the shared state and the [`Metrics`]; `placement.rs`
//! which nodes a request goes to, and asking one more to serve;
//! `relay.rs` the request relay; `api.rs` `/about/routes`, `/metrics` and
//! the JSON error; this file the [`LoadBalancer`] handle and [`run`].

mod api;
mod config;
mod placement;
mod relay;
mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use aether_sdk::programs::client::{AetherClient, ProgramClientError};
use axum::routing::{any, get};
use axum::Router;

pub use config::{Config, DEFAULT_PORT};
pub use state::{Metrics, Standby, Target};

use api::{metrics_text, routes};
use relay::relay;
use state::Shared;

/// Why the load balancer could not start or refresh its routes.
#[derive(Debug, thiserror::Error)]
pub enum LbError {
    /// The listening socket.
    #[error("binding {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// The chain.
    #[error(transparent)]
    Chain(#[from] ProgramClientError),
    /// The core node.
    #[error("core node: {0}")]
    Node(String),
    /// A worker task ended abnormally.
    #[error(transparent)]
    Task(#[from] aether_keeper::TaskFailed),
}

/// A running load balancer.
pub struct LoadBalancer {
    daemon: aether_keeper::Daemon,
    shared: Arc<Shared>,
}

impl LoadBalancer {
    /// Binds and starts reading routes.
    pub async fn start(config: Config) -> Result<LoadBalancer, LbError> {
        let addr = SocketAddr::new(config.bind, config.port);
        // Reads only: any key will do to build the program client.
        let client = Arc::new(AetherClient::new(
            &config.rpc_url,
            solana_keypair::Keypair::new(),
        ));
        let shared = Arc::new(Shared::new(config));
        let app = Router::new()
            .route("/about/routes", get(routes))
            .route("/metrics", get(metrics_text))
            .fallback(any(relay))
            .with_state(shared.clone());
        let mut daemon = aether_keeper::Daemon::serve(addr, app)
            .await
            .map_err(|e| LbError::Bind(addr, e))?;
        let stopped = daemon.stopped();
        let refresher = shared.clone();
        daemon.spawn(async move {
            let m = &refresher.metrics;
            aether_keeper::rounds(
                "lb",
                refresher.config.refresh,
                (&m.refreshes, &m.refresh_errors),
                stopped,
                || refresher.refresh(&client),
            )
            .await
        });
        tracing::info!(addr = %daemon.addr(), "load balancer started");
        Ok(LoadBalancer { daemon, shared })
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        self.daemon.url()
    }

    /// Its counters.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// The nodes serving `program` now.
    pub fn targets(&self, program: &str) -> Vec<Target> {
        self.shared.serving(program)
    }

    /// The nodes that may be asked to serve a program.
    pub fn standby(&self) -> Vec<Standby> {
        self.shared.routes.read().unwrap().standby.clone()
    }

    /// Stops serving.
    pub async fn stop(self) {
        self.daemon.stop().await;
    }
}

/// Runs a load balancer until `shutdown` resolves; `on_ready` sees it started.
pub async fn run(
    config: Config,
    on_ready: impl FnOnce(&LoadBalancer),
    shutdown: impl Future<Output = ()>,
) -> Result<(), LbError> {
    let start = LoadBalancer::start(config);
    aether_keeper::run(
        "load balancer",
        start,
        on_ready,
        shutdown,
        LoadBalancer::stop,
    )
    .await
}
