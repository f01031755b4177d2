//! Aether's event indexer: follows the events of the four programs
//! (staking, registry, escrow, anchors) from one or more JSON-RPC
//! endpoints into SQLite, and serves them over HTTP.
//!
//! Layout: `config.rs` the [`Config`]; `endpoints.rs` the endpoint pool
//! (random healthy endpoint, resting on error or lag); `follow.rs` the
//! scans (`getSignaturesForAddress` + `getTransaction`, woken by
//! `logsSubscribe`); `store.rs` the schema and the cursors, with
//! `store/effects.rs` each event's effect on the derived tables; `api/` the
//! HTTP API, a file per route family.
//!
//! ```no_run
//! # async fn example() {
//! let config = aether_indexer::Config::new(
//!     vec!["http://127.0.0.1:8899".into()],
//!     "/tmp/indexer.sqlite",
//! );
//! let indexer = aether_indexer::Indexer::start(config).await.unwrap();
//! println!("serving on {}", indexer.url());
//! indexer.stop().await;
//! # }
//! ```

pub mod api;
pub mod config;
pub mod endpoints;
pub mod follow;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use config::{Config, DEFAULT_PORT};
use endpoints::Endpoints;
use follow::{Follower, Metrics};
use tokio::sync::{watch, Notify};

/// Why the indexer could not start or a scan failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    /// No RPC URL was given.
    #[error("no RPC URL given")]
    NoEndpoint,
    /// The database.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The listening socket.
    #[error("binding {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// Every endpoint failed a request.
    #[error(transparent)]
    Rpc(#[from] endpoints::AllFailed),
    /// A transaction's events did not parse.
    #[error(transparent)]
    Events(#[from] aether_sdk::events::EventsError),
    /// A signature from the cluster or the cursor that is not base58.
    #[error("not a signature: {0}")]
    Cursor(String),
    /// A worker task ended abnormally.
    #[error(transparent)]
    Task(#[from] aether_keeper::TaskFailed),
}

/// A running indexer.
pub struct Indexer {
    keeper: aether_keeper::Keeper<Metrics>,
}

impl Indexer {
    /// Opens the database, binds the API and starts following the chain.
    pub async fn start(config: Config) -> Result<Indexer, IndexerError> {
        if config.rpc_urls.is_empty() {
            return Err(IndexerError::NoEndpoint);
        }
        if let Some(dir) = config.db_path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    IndexerError::Store(store::StoreError::Sqlite(rusqlite::Error::InvalidPath(
                        format!("{}: {e}", dir.display()).into(),
                    )))
                })?;
            }
        }
        let writer = store::open(&config.db_path)?;
        let reader = store::open(&config.db_path)?;
        let metrics = Arc::new(Metrics::default());
        if let Some(synced) = store::meta(&writer, "synced_slot")? {
            metrics.synced_slot.store(synced, Ordering::Relaxed);
            metrics.head_slot.store(synced, Ordering::Relaxed);
        }
        let endpoints = Arc::new(Endpoints::new(
            &config.rpc_urls,
            config.rest,
            config.max_lag_slots,
        ));
        let addr = SocketAddr::new(config.bind, config.port);
        let app = api::router(api::AppState {
            reader: Arc::new(Mutex::new(reader)),
            metrics: metrics.clone(),
            endpoints: endpoints.clone(),
        });
        let mut daemon = aether_keeper::Daemon::serve(addr, app)
            .await
            .map_err(|e| IndexerError::Bind(addr, e))?;
        let addr = daemon.addr();
        let stopped = daemon.stopped();
        let wake = Arc::new(Notify::new());
        if config.live {
            for url in &config.rpc_urls {
                daemon.spawn(live(
                    aether_sdk::programs::client::ws_url_of(url),
                    wake.clone(),
                    metrics.clone(),
                    stopped.clone(),
                ));
            }
        }
        let follower = Follower {
            endpoints,
            conn: Arc::new(Mutex::new(writer)),
            metrics: metrics.clone(),
            concurrency: config.fetch_concurrency,
        };
        daemon.spawn(follow_loop(follower, config.poll_interval, wake, stopped));
        tracing::info!(%addr, endpoints = config.rpc_urls.len(), "indexer started");
        Ok(Indexer {
            keeper: aether_keeper::Keeper::new(daemon, metrics),
        })
    }

    /// Where the API listens.
    pub fn addr(&self) -> SocketAddr {
        self.keeper.addr()
    }

    /// The API's base URL.
    pub fn url(&self) -> String {
        self.keeper.url()
    }

    /// Its counters.
    pub fn metrics(&self) -> &Metrics {
        self.keeper.metrics()
    }

    /// Stops scanning and serving; a scan in progress finishes its current
    /// SQLite transaction first.
    pub async fn stop(self) {
        self.keeper.stop().await;
    }
}

/// Runs an indexer until `shutdown` resolves; `on_ready` sees it started.
pub async fn run(
    config: Config,
    on_ready: impl FnOnce(&Indexer),
    shutdown: impl Future<Output = ()>,
) -> Result<(), IndexerError> {
    aether_keeper::run(
        "indexer",
        Indexer::start(config),
        on_ready,
        shutdown,
        Indexer::stop,
    )
    .await
}

async fn follow_loop(
    follower: Follower,
    poll: Duration,
    wake: Arc<Notify>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut checked = tokio::time::Instant::now();
    loop {
        if *stopped.borrow() {
            return;
        }
        // The lag check rests endpoints that fell behind the others.
        if checked.elapsed() >= poll * 5 {
            follower.endpoints.check().await;
            checked = tokio::time::Instant::now();
        }
        let span = tracing::info_span!("scan");
        let result = {
            let _enter = span.enter();
            follower.scan()
        }
        .await;
        follower.metrics.scans.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(0) => {}
            Ok(added) => tracing::info!(events = added, "recorded"),
            Err(e) => {
                follower.metrics.scan_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "scan failed; retrying");
            }
        }
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

/// Wakes the follower whenever one of the programs is mentioned in a
/// confirmed transaction; reconnects with backoff.
async fn live(
    ws: String,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    mut stopped: watch::Receiver<bool>,
) {
    use futures_util::StreamExt;
    use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
    use solana_rpc_client_api::config::{RpcTransactionLogsConfig, RpcTransactionLogsFilter};

    let mut backoff = Duration::from_secs(1);
    loop {
        let session = async {
            let client = PubsubClient::new(&ws).await.map_err(|e| e.to_string())?;
            let mut streams = Vec::new();
            for program in aether_sdk::events::program_ids() {
                let (stream, _unsubscribe) = client
                    .logs_subscribe(
                        RpcTransactionLogsFilter::Mentions(vec![program.to_string()]),
                        RpcTransactionLogsConfig {
                            commitment: Some(
                                solana_commitment_config::CommitmentConfig::confirmed(),
                            ),
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                streams.push(stream);
            }
            tracing::debug!(%ws, "logsSubscribe connected");
            let mut all = futures_util::stream::select_all(streams);
            while all.next().await.is_some() {
                metrics.notifications.fetch_add(1, Ordering::Relaxed);
                wake.notify_one();
            }
            Err::<(), String>("the subscription ended".into())
        };
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            result = session => {
                if let Err(e) = result {
                    tracing::debug!(%ws, error = %e, "logsSubscribe; reconnecting");
                }
            }
        }
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}
