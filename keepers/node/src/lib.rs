//! Aether's core channel node: accepts messages from any client, stores
//! them and the files they point to, and answers queries and streams over
//! an HTTP API compatible with the Aleph core node API v0.
//!
//! Layout: `config.rs` the [`Config`]; `store/` the SQLite schema and
//! queries; `process/` what a message does (permission, references,
//! effects); `writer/` the one writer and its group commits;
//! `files.rs` the content store on disk; `api/` the HTTP API.
//!
//! ```no_run
//! # async fn example() {
//! let config = aether_node::Config::new("/tmp/aether-node");
//! let node = aether_node::Node::start(config).await.unwrap();
//! println!("listening on {}", node.url());
//! node.stop().await;
//! # }
//! ```

pub mod anchoring;
pub mod api;
pub mod charging;
pub mod config;
pub mod files;
pub mod peers;
pub mod process;
pub mod resync;
pub mod store;
pub mod writer;

use tracing::Instrument;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{default_data_dir, Config, DEFAULT_PORT};
use tokio::sync::broadcast;

/// Why the node could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The data directory or the listening socket.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The database.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The anchoring key.
    #[error("reading the keypair {path}: {reason}")]
    Key {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// A running node: its API and background tasks under one
/// [`aether_keeper::Daemon`], and the writer thread.
pub struct Node {
    daemon: aether_keeper::Daemon,
    writer_handle: writer::Writer,
    files: files::ContentStore,
    gc_grace: std::time::Duration,
    charging: Option<Arc<charging::Charging>>,
    readers: store::Readers,
    writer: std::thread::JoinHandle<()>,
    resync: Option<tokio::task::JoinHandle<Result<resync::ResyncReport, resync::ResyncError>>>,
}

impl Node {
    /// Opens the database and content store and starts serving.
    pub async fn start(config: Config) -> Result<Node, NodeError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(io_error(format!("creating {}", config.data_dir.display())))?;
        let db = config.data_dir.join("node.sqlite");
        let files = files::ContentStore::open(&config.data_dir).map_err(io_error(format!(
            "opening the content store in {}",
            config.data_dir.display()
        )))?;
        let mut daemon = aether_keeper::Daemon::bind(config.listen())
            .await
            .map_err(io_error(format!("listening on {}", config.listen())))?;
        daemon.limit_connections(config.connections);
        let stopping = daemon.stopped();
        let (live, _) = broadcast::channel(4096);
        let (writer, writer_thread) =
            writer::Writer::start(db.clone(), files.clone(), config.max_batch, live.clone())?;
        let readers = store::Readers::open(&db, 4)?;
        if let Some(anchoring) = &config.anchoring {
            let task = anchorer(anchoring, &readers, &writer, &files)?;
            daemon.spawn(task.run(stopping.clone()));
        }
        let state = api::AppState {
            readers,
            writer,
            files,
            live,
            max_file_size: config.max_file_size,
            metrics: Arc::new(api::Metrics::default()),
            stopping: stopping.clone(),
            peers: peers::Peers::new(config.peers.clone()),
            charging: config
                .charging
                .clone()
                .map(|c| Arc::new(charging::Charging::new(c))),
        };
        spawn_tasks(&mut daemon, &config, &state, stopping);
        let resync = match &config.resync {
            Some(resync_config) => start_resync(resync_config, &state).await?,
            None => None,
        };
        let mut node = Node {
            writer_handle: state.writer.clone(),
            files: state.files.clone(),
            gc_grace: config.gc_grace,
            charging: state.charging.clone(),
            readers: state.readers.clone(),
            writer: writer_thread,
            resync,
            daemon,
        };
        node.daemon.serve_on(api::router(
            state,
            config.max_message_size,
            config.request_timeout,
        ));
        tracing::info!(addr = %node.addr(), data_dir = %config.data_dir.display(), "core node serving");
        Ok(node)
    }

    /// Runs one charging round now (marks, restores, collects held
    /// content against balances); `None` when charging is off.
    pub async fn charge_round(
        &self,
    ) -> Option<Result<Vec<writer::StatusChange>, charging::ChargeError>> {
        let charging = self.charging.as_ref()?;
        Some(
            charging
                .round(&self.readers, &self.writer_handle, unix_now())
                .await,
        )
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.daemon.addr()
    }

    /// Waits for the resync started at launch, if any, and returns its report.
    pub async fn resync_report(
        &mut self,
    ) -> Option<Result<resync::ResyncReport, resync::ResyncError>> {
        let handle = self.resync.take()?;
        Some(
            handle
                .await
                .unwrap_or_else(|e| Err(resync::ResyncError::from_join(e))),
        )
    }

    /// Deletes files no live message pins (STORE, stored content, batch
    /// files) and older than the grace period; returns their sha256s.
    pub async fn collect_garbage(&self) -> Result<Vec<String>, CollectError> {
        collect(&self.writer_handle, &self.files, self.gc_grace).await
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        self.daemon.url()
    }

    /// Stops serving and every task (a request a client never finishes, a
    /// push that keeps retrying, a resync still running are cancelled after
    /// [`aether_keeper::STOP_GRACE`]), lets the writer finish what it
    /// acknowledged, and returns.
    pub async fn stop(self) {
        // The writer stops once every handle to it is gone.
        drop(self.writer_handle);
        if let Some(resync) = self.resync {
            resync.abort();
            let _ = resync.await;
        }
        self.daemon.stop().await;
        // The writer ends when the last handle to it (held by the tasks) is gone.
        let writer = self.writer;
        let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    }
}

/// An I/O error while `what` was being done.
fn io_error(what: String) -> impl FnOnce(std::io::Error) -> NodeError {
    move |source| NodeError::Io { what, source }
}

/// The anchoring task, its key read from the keypair file.
fn anchorer(
    config: &anchoring::AnchorConfig,
    readers: &store::Readers,
    writer: &writer::Writer,
    files: &files::ContentStore,
) -> Result<anchoring::Anchorer, NodeError> {
    let key = solana_keypair::read_keypair_file(&config.keypair).map_err(|e| NodeError::Key {
        path: config.keypair.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(anchoring::Anchorer {
        config: config.clone(),
        key,
        readers: readers.clone(),
        writer: writer.clone(),
        files: files.clone(),
    })
}

/// Starts the tasks beside the API: pushes to peers, garbage collection,
/// and charging rounds when charging is on.
fn spawn_tasks(
    daemon: &mut aether_keeper::Daemon,
    config: &Config,
    state: &api::AppState,
    stopping: tokio::sync::watch::Receiver<bool>,
) {
    for pusher in state.peers.pushers(&state.live, stopping.clone()) {
        daemon.spawn(pusher);
    }
    daemon.spawn(collect_loop(
        state.writer.clone(),
        state.files.clone(),
        (config.gc_interval, config.gc_grace),
        stopping.clone(),
    ));
    if let Some(charging) = state.charging.clone() {
        daemon.spawn(charging_loop(
            charging,
            state.readers.clone(),
            state.writer.clone(),
            stopping,
        ));
    }
}

/// Collects garbage every `interval` until the node stops.
async fn collect_loop(
    writer: writer::Writer,
    files: files::ContentStore,
    (interval, grace): (std::time::Duration, std::time::Duration),
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
        if let Err(e) = collect(&writer, &files, grace).await {
            tracing::warn!(error = %e, "garbage collection failed");
        }
    }
}

/// Runs a charging round every configured interval until the node stops.
async fn charging_loop(
    charging: Arc<charging::Charging>,
    readers: store::Readers,
    writer: writer::Writer,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(charging.config.interval) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
        let round = charging
            .round(&readers, &writer, unix_now())
            .instrument(tracing::info_span!("charging round"));
        if let Err(e) = round.await {
            tracing::warn!(error = %e, "charging round failed");
        }
    }
}

/// Starts the resync from peers when the database is empty.
async fn start_resync(
    config: &resync::ResyncConfig,
    state: &api::AppState,
) -> Result<
    Option<tokio::task::JoinHandle<Result<resync::ResyncReport, resync::ResyncError>>>,
    NodeError,
> {
    let empty = state
        .readers
        .with(|c| {
            Ok(
                c.query_row("SELECT NOT EXISTS (SELECT 1 FROM messages)", [], |r| {
                    r.get::<_, bool>(0)
                })?,
            )
        })
        .await?;
    if !empty {
        tracing::info!("resync skipped: the database is not empty");
        return Ok(None);
    }
    let job = resync::Resync {
        config: config.clone(),
        peers: state.peers.clone(),
        readers: state.readers.clone(),
        writer: state.writer.clone(),
        files: state.files.clone(),
        max_file_size: state.max_file_size,
    };
    Ok(Some(tokio::spawn(job.run())))
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Why garbage collection stopped (it is tried again at the next interval).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The records could not be dropped.
    #[error(transparent)]
    Write(#[from] writer::WriteError),
    /// A file could not be deleted.
    #[error("deleting {sha256}: {source}")]
    Delete {
        /// The file.
        sha256: String,
        /// Why.
        source: std::io::Error,
    },
}

async fn collect(
    writer: &writer::Writer,
    files: &files::ContentStore,
    grace: std::time::Duration,
) -> Result<Vec<String>, CollectError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let dropped = writer.collect(now - grace.as_secs_f64()).await?;
    for sha256 in &dropped {
        files
            .remove(sha256)
            .await
            .map_err(|source| CollectError::Delete {
                sha256: sha256.clone(),
                source,
            })?;
    }
    if !dropped.is_empty() {
        tracing::info!(files = dropped.len(), "garbage collected");
    }
    Ok(dropped)
}

/// Runs a node until `shutdown` resolves; `on_ready` learns its address.
pub async fn run(
    config: Config,
    on_ready: impl FnOnce(&Node),
    shutdown: impl Future<Output = ()>,
) -> Result<(), NodeError> {
    aether_keeper::run(
        "core node",
        Node::start(config),
        on_ready,
        shutdown,
        Node::stop,
    )
    .await
}
