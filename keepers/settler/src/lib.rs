//! Aether's settler: calls the escrow program's `settle` on streams whose
//! accrued amount passes a threshold or whose last settlement is older
//! than a period, several streams per transaction where they fit, and
//! logs what each provider was paid.
//!
//! It never pays twice: the program settles only up to its own clock,
//! once. The settler also never sends a settlement that would pay
//! nothing, so it wastes no fee: it works out what `settle` would pay with
//! the program's own [`Stream::settle`](aether_sdk::escrow_program::state::Stream::settle)
//! before sending.
//!
//! Layout: `config.rs` the [`Config`]; `plan.rs` which streams are due and
//! how they are packed; `store.rs` the settlement log; this file the loop
//! and the HTTP API (`/metrics`, `/settlements`).

pub mod config;
pub mod plan;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aether_keeper::{Counters, Metric};
use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::events::Event;
use aether_sdk::programs::client::{AetherClient, ProgramClientError};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
pub use config::{Config, DEFAULT_PORT};
use rusqlite::Connection;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::RpcTransactionConfig;
use solana_transaction_status_client_types::UiTransactionEncoding;
use store::Settlement;

/// Why the settler could not start or a round failed.
#[derive(Debug, thiserror::Error)]
pub enum SettlerError {
    /// The fee payer's keypair file.
    #[error("reading the keypair {0}: {1}")]
    Keypair(String, String),
    /// The settlement log.
    #[error("settlement log: {0}")]
    Store(#[from] rusqlite::Error),
    /// The database file.
    #[error("database: {0}")]
    Db(#[from] aether_keeper::DbError),
    /// The listening socket.
    #[error("binding {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// Reading or sending to the cluster.
    #[error(transparent)]
    Chain(#[from] ProgramClientError),
    /// Reading a sent transaction back.
    #[error("reading transaction {0}: {1}")]
    Readback(String, String),
    /// A worker task ended abnormally.
    #[error(transparent)]
    Task(#[from] aether_keeper::TaskFailed),
}

/// Counters shown on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Rounds done.
    pub rounds: AtomicU64,
    /// Rounds that failed before sending anything.
    pub round_errors: AtomicU64,
    /// Transactions confirmed.
    pub transactions: AtomicU64,
    /// Transactions refused or not confirmed.
    pub failed_transactions: AtomicU64,
    /// Stream settlements confirmed.
    pub settlements: AtomicU64,
    /// Base units paid to providers.
    pub paid: AtomicU64,
    /// Streams found exhausted while settling.
    pub exhausted: AtomicU64,
}

impl Counters for Metrics {
    fn lines(&self) -> Vec<Metric<'_>> {
        vec![
            ("aether_settler_rounds_total", "counter", &self.rounds),
            (
                "aether_settler_round_errors_total",
                "counter",
                &self.round_errors,
            ),
            (
                "aether_settler_transactions_total",
                "counter",
                &self.transactions,
            ),
            (
                "aether_settler_failed_transactions_total",
                "counter",
                &self.failed_transactions,
            ),
            (
                "aether_settler_settlements_total",
                "counter",
                &self.settlements,
            ),
            (
                "aether_settler_paid_base_units_total",
                "counter",
                &self.paid,
            ),
            ("aether_settler_exhausted_total", "counter", &self.exhausted),
        ]
    }

    fn round_counts(&self) -> (&AtomicU64, &AtomicU64) {
        (&self.rounds, &self.round_errors)
    }
}

/// A running settler.
pub struct Settler {
    keeper: aether_keeper::Keeper<Metrics>,
}

struct Worker {
    client: Arc<AetherClient>,
    rpc: RpcClient,
    payer: Pubkey,
    rules: plan::Rules,
    max_per_tx: usize,
    log: Arc<Mutex<Connection>>,
    metrics: Arc<Metrics>,
}

/// Blocking work with this crate's error type (so call sites need no
/// annotation).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SettlerError> + Send + 'static,
) -> Result<T, SettlerError> {
    aether_keeper::blocking(f).await
}

impl Worker {
    /// One round: find what is due, settle it, log what was paid.
    async fn round(&self) -> Result<Vec<Settlement>, SettlerError> {
        let client = self.client.clone();
        let (now, streams, mint) = blocking(move || {
            Ok((
                client.unix_timestamp()?,
                client.streams()?,
                client.escrow_mint()?,
            ))
        })
        .await?;
        let mut due = Vec::new();
        for (key, stream) in &streams {
            if let Some(d) = plan::due(*key, stream, now, self.rules) {
                tracing::debug!(stream = %key, reason = ?d.reason, paid = ?d.paid, "due");
                due.push(plan::instruction(mint, *key, stream));
            }
        }
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let mut done = Vec::new();
        for ixs in plan::pack(&self.payer, due, self.max_per_tx) {
            let count = ixs.len();
            let client = self.client.clone();
            let sent = blocking(move || Ok(client.send(ixs)?)).await;
            let signature = match sent {
                Ok(s) => s,
                Err(e) => {
                    // Another settler may have settled first: the next
                    // round reads fresh accounts and skips what is paid.
                    self.metrics
                        .failed_transactions
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(streams = count, error = %e, "settlement not confirmed");
                    continue;
                }
            };
            self.metrics.transactions.fetch_add(1, Ordering::Relaxed);
            let settled = self.read_back(&signature.to_string()).await?;
            for s in &settled {
                tracing::info!(
                    stream = %s.stream,
                    paid = ?s.paid,
                    exhausted = s.exhausted,
                    %signature,
                    "settled"
                );
                self.metrics.settlements.fetch_add(1, Ordering::Relaxed);
                self.metrics.paid.fetch_add(s.total, Ordering::Relaxed);
                if s.exhausted {
                    self.metrics.exhausted.fetch_add(1, Ordering::Relaxed);
                }
            }
            let log = self.log.clone();
            let rows = settled.clone();
            blocking(move || Ok(store::log(&mut log.lock().unwrap(), &rows)?)).await?;
            done.extend(settled);
        }
        Ok(done)
    }

    /// What a confirmed settlement transaction paid, from its events.
    async fn read_back(&self, signature: &str) -> Result<Vec<Settlement>, SettlerError> {
        let err = |e: String| SettlerError::Readback(signature.to_owned(), e);
        let tx = self
            .rpc
            .get_transaction_with_config(
                &signature
                    .parse()
                    .map_err(|_| err("not a signature".into()))?,
                RpcTransactionConfig {
                    encoding: Some(UiTransactionEncoding::Json),
                    commitment: Some(CommitmentConfig::confirmed()),
                    max_supported_transaction_version: Some(0),
                },
            )
            .await
            .map_err(|e| err(e.to_string()))?;
        let events =
            aether_sdk::events::from_transaction(signature, &tx).map_err(|e| err(e.to_string()))?;
        let mut out: Vec<Settlement> = Vec::new();
        for event in events {
            match event {
                Event::StreamSettled(e) => out.push(Settlement {
                    signature: signature.to_owned(),
                    stream: e.stream.to_string(),
                    total: e.paid.iter().sum(),
                    paid: e.paid,
                    exhausted: false,
                    settled_until: e.settled_until,
                }),
                Event::StreamExhausted(e) => {
                    let stream = e.stream.to_string();
                    if let Some(s) = out.iter_mut().find(|s| s.stream == stream) {
                        s.exhausted = true;
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

#[derive(Clone)]
struct ApiState {
    log: Arc<Mutex<Connection>>,
}

#[derive(serde::Deserialize)]
struct SettlementQuery {
    stream: Option<String>,
}

async fn settlements(
    State(state): State<ApiState>,
    Query(q): Query<SettlementQuery>,
) -> Result<Json<Vec<Settlement>>, (axum::http::StatusCode, String)> {
    aether_keeper::db_read(&state.log, move |log| store::list(log, q.stream.as_deref()))
        .await
        .map(Json)
}

impl Settler {
    /// Reads the keypair, opens the log, binds the API and starts settling.
    pub async fn start(config: Config) -> Result<Settler, SettlerError> {
        let keypair = solana_keypair::read_keypair_file(&config.keypair).map_err(|e| {
            SettlerError::Keypair(config.keypair.display().to_string(), e.to_string())
        })?;
        let payer = solana_signer::Signer::pubkey(&keypair);
        let log = Arc::new(Mutex::new(store::open(&config.db_path)?));
        let metrics = Arc::new(Metrics::default());
        let addr = SocketAddr::new(config.bind, config.port);
        let app = Router::new()
            .route("/settlements", get(settlements))
            .with_state(ApiState { log: log.clone() });
        let mut keeper = aether_keeper::Keeper::serve(addr, app, metrics.clone())
            .await
            .map_err(|e| SettlerError::Bind(addr, e))?;
        let addr = keeper.addr();
        let worker = Worker {
            client: Arc::new(AetherClient::new(&config.rpc_url, keypair)),
            rpc: RpcClient::new_with_commitment(
                config.rpc_url.clone(),
                CommitmentConfig::confirmed(),
            ),
            payer,
            rules: plan::Rules {
                threshold: config.threshold,
                period_secs: i64::try_from(config.period.as_secs()).unwrap_or(i64::MAX),
            },
            max_per_tx: config.max_streams_per_tx,
            log,
            metrics,
        };
        keeper.spawn_rounds("settler", config.interval, worker, |worker| async move {
            worker.round().await
        });
        tracing::info!(%addr, %payer, "settler started");
        Ok(Settler { keeper })
    }

    /// Where the API listens.
    pub fn url(&self) -> String {
        self.keeper.url()
    }

    /// Its counters.
    pub fn metrics(&self) -> &Metrics {
        self.keeper.metrics()
    }

    /// Stops after the round in progress.
    pub async fn stop(self) {
        self.keeper.stop().await;
    }
}

/// Runs a settler until `shutdown` resolves; `on_ready` sees it started.
pub async fn run(
    config: Config,
    on_ready: impl FnOnce(&Settler),
    shutdown: impl Future<Output = ()>,
) -> Result<(), SettlerError> {
    aether_keeper::run(
        "settler",
        Settler::start(config),
        on_ready,
        shutdown,
        Settler::stop,
    )
    .await
}
