//! Aether's checker, run by core node operators: probes every registered
//! resource node on a schedule (reachability and latency of its API, the
//! capacity it reports, and a call to a small reference program through
//! its router, sent like any user request), turns the epoch's probes into
//! a score from 0 to 10,000 by the rule in [`score`], and submits it with
//! the registry's `report_score`. Once a quorum of core nodes has
//! reported, the program sets the node's score to the median.
//!
//! Layout: `config.rs` the [`Config`]; `probe.rs` one probe; `score.rs`
//! the scoring rule; `store.rs` probes and reports in SQLite; this file the
//! loop and the HTTP API (`/metrics`, `/scores`).

pub mod config;
pub mod probe;
pub mod score;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aether_keeper::{Counters, Metric};
use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::programs::client::{AetherClient, ProgramClientError};
use aether_sdk::programs::{registry, staking};
use aether_sdk::registry_program::state::{NodeKind, NodeRecord};
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
pub use config::{Config, Reference, DEFAULT_PORT};
use futures_util::StreamExt;
use rusqlite::Connection;

/// Why the checker could not start or a round failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckerError {
    /// The operator's keypair file.
    #[error("reading the keypair {0}: {1}")]
    Keypair(String, String),
    /// The probe database.
    #[error("probe database: {0}")]
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
    /// A worker task ended abnormally.
    #[error(transparent)]
    Task(#[from] aether_keeper::TaskFailed),
}

/// Counters shown on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Rounds done.
    pub rounds: AtomicU64,
    /// Rounds that failed to read the chain.
    pub round_errors: AtomicU64,
    /// Probes made.
    pub probes: AtomicU64,
    /// Probes that found the node unreachable.
    pub unreachable: AtomicU64,
    /// Scores reported on chain.
    pub reports: AtomicU64,
    /// Reports the cluster refused.
    pub report_errors: AtomicU64,
    /// The current epoch.
    pub epoch: AtomicU64,
}

impl Counters for Metrics {
    fn lines(&self) -> Vec<Metric<'_>> {
        vec![
            ("aether_checker_rounds_total", "counter", &self.rounds),
            (
                "aether_checker_round_errors_total",
                "counter",
                &self.round_errors,
            ),
            ("aether_checker_probes_total", "counter", &self.probes),
            (
                "aether_checker_unreachable_total",
                "counter",
                &self.unreachable,
            ),
            ("aether_checker_reports_total", "counter", &self.reports),
            (
                "aether_checker_report_errors_total",
                "counter",
                &self.report_errors,
            ),
            ("aether_checker_epoch", "gauge", &self.epoch),
        ]
    }

    fn round_counts(&self) -> (&AtomicU64, &AtomicU64) {
        (&self.rounds, &self.round_errors)
    }
}

/// A running checker.
pub struct Checker {
    keeper: aether_keeper::Keeper<Metrics>,
}

struct Worker {
    client: Arc<AetherClient>,
    /// The reporter's staking node: how its reports appear on chain.
    reporter_node: Pubkey,
    http: reqwest::Client,
    config: Config,
    db: Arc<Mutex<Connection>>,
    metrics: Arc<Metrics>,
}

/// Blocking work with this crate's error type (so call sites need no
/// annotation).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CheckerError> + Send + 'static,
) -> Result<T, CheckerError> {
    aether_keeper::blocking(f).await
}

impl Worker {
    /// One round: probe every resource node, report those with enough probes.
    async fn round(&self) -> Result<(), CheckerError> {
        let client = self.client.clone();
        let (epoch, records) =
            blocking(move || Ok((client.staking_config()?.epoch, client.node_records()?))).await?;
        self.metrics.epoch.store(epoch, Ordering::Relaxed);
        let nodes: Vec<(Pubkey, NodeRecord)> = records
            .into_iter()
            .filter(|(_, r)| r.kind == NodeKind::Resource)
            .collect();
        let config = &self.config;
        let reference = &config.reference();
        let probes: Vec<(Pubkey, score::Probe)> = futures_util::stream::iter(nodes.clone())
            .map(|(key, record)| async move {
                let registered = (
                    u64::from(record.capacity.vcpus),
                    u64::from(record.capacity.memory_mib),
                );
                let probe = probe::probe(
                    &self.http,
                    &record.endpoint,
                    registered,
                    reference.as_ref(),
                    config.probe_timeout,
                    config.max_answer_bytes,
                )
                .await;
                (key, probe)
            })
            .buffer_unordered(8)
            .collect()
            .await;
        for (key, probe) in &probes {
            let score = score::probe_score(probe);
            tracing::debug!(node = %key, ?probe, score, "probed");
            self.metrics.probes.fetch_add(1, Ordering::Relaxed);
            if !probe.reachable {
                self.metrics.unreachable.fetch_add(1, Ordering::Relaxed);
            }
            store::add_probe(
                &self.db.lock().unwrap(),
                &key.to_string(),
                epoch,
                aether_keeper::unix_now(),
                score,
                probe,
            )?;
        }
        // The registry refuses scores for nodes the reporter owns or
        // parents (they raise its own earnings): those are probed and shown
        // at /scores, never reported.
        let own_record = registry::record(&self.reporter_node);
        let operator = self.client.payer();
        for (key, record) in &nodes {
            if record.owner == operator || record.parent == own_record {
                continue;
            }
            self.maybe_report(*key, record, epoch).await?;
        }
        Ok(())
    }

    /// Reports a node's epoch score once it has enough probes, once.
    async fn maybe_report(
        &self,
        key: Pubkey,
        record: &NodeRecord,
        epoch: u64,
    ) -> Result<(), CheckerError> {
        let name = key.to_string();
        let (done, scores) = {
            let db = self.db.lock().unwrap();
            (
                store::reported(&db, &name, epoch)?,
                store::scores(&db, &name, epoch)?,
            )
        };
        if done.is_some() || (scores.len() as u32) < self.config.min_probes {
            return Ok(());
        }
        let score = score::epoch_score(&scores);
        // A report made before a restart is on chain already.
        if let Some(r) = record
            .reports
            .iter()
            .find(|r| r.reporter == self.reporter_node && r.epoch == epoch)
        {
            store::add_report(&self.db.lock().unwrap(), &name, epoch, r.score, "")?;
            return Ok(());
        }
        let client = self.client.clone();
        let reporter = client.payer();
        let sent = blocking(move || {
            Ok(client.send(vec![registry::report_score(reporter, key, epoch, score)])?)
        })
        .await;
        match sent {
            Ok(signature) => {
                tracing::info!(node = %key, epoch, score, %signature, "score reported");
                self.metrics.reports.fetch_add(1, Ordering::Relaxed);
                store::add_report(
                    &self.db.lock().unwrap(),
                    &name,
                    epoch,
                    score,
                    &signature.to_string(),
                )?;
            }
            Err(e) => {
                // Not active yet, or the epoch turned: retried next round.
                self.metrics.report_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(node = %key, epoch, error = %e, "score not reported");
            }
        }
        Ok(())
    }
}

#[derive(Clone)]
struct ApiState {
    db: Arc<Mutex<Connection>>,
    metrics: Arc<Metrics>,
}

#[derive(serde::Deserialize)]
struct ScoresQuery {
    epoch: Option<u64>,
}

async fn scores(
    State(state): State<ApiState>,
    Query(q): Query<ScoresQuery>,
) -> Result<Json<Vec<store::Standing>>, (axum::http::StatusCode, String)> {
    let epoch = q
        .epoch
        .unwrap_or_else(|| state.metrics.epoch.load(Ordering::Relaxed));
    aether_keeper::db_read(&state.db, move |db| store::standings(db, epoch))
        .await
        .map(Json)
}

impl Checker {
    /// Reads the keypair, opens the database, binds the API and starts probing.
    pub async fn start(config: Config) -> Result<Checker, CheckerError> {
        let keypair = solana_keypair::read_keypair_file(&config.keypair).map_err(|e| {
            CheckerError::Keypair(config.keypair.display().to_string(), e.to_string())
        })?;
        let operator = solana_signer::Signer::pubkey(&keypair);
        let db = Arc::new(Mutex::new(store::open(&config.db_path)?));
        let metrics = Arc::new(Metrics::default());
        let addr = SocketAddr::new(config.bind, config.port);
        let app = Router::new()
            .route("/scores", get(scores))
            .with_state(ApiState {
                db: db.clone(),
                metrics: metrics.clone(),
            });
        let mut keeper = aether_keeper::Keeper::serve(addr, app, metrics.clone())
            .await
            .map_err(|e| CheckerError::Bind(addr, e))?;
        let addr = keeper.addr();
        let interval = config.interval;
        let worker = Worker {
            client: Arc::new(AetherClient::new(&config.rpc_url, keypair)),
            reporter_node: staking::node(&operator),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a plain HTTP client builds"),
            config,
            db,
            metrics,
        };
        keeper.spawn_rounds("checker", interval, worker, |worker| async move {
            worker.round().await
        });
        tracing::info!(%addr, %operator, "checker started");
        Ok(Checker { keeper })
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

/// Runs a checker until `shutdown` resolves; `on_ready` sees it started.
pub async fn run(
    config: Config,
    on_ready: impl FnOnce(&Checker),
    shutdown: impl Future<Output = ()>,
) -> Result<(), CheckerError> {
    aether_keeper::run(
        "checker",
        Checker::start(config),
        on_ready,
        shutdown,
        Checker::stop,
    )
    .await
}
