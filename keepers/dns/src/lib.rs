//! Aether's dns keeper, run by core node operators: for every domain
//! binding that is pending or live, resolves `_aether.<domain>` TXT against
//! the configured resolver and attests on chain whether it names the
//! binding's target. A quorum of core nodes makes a binding live, or
//! withdraws it.
//!
//! The record's value is the target's item hash in hex (64 digits). A
//! binding is approved when a TXT record holds exactly that and none holds
//! another hash; missing, wrong, ambiguous or oversized records are
//! rejected; timeouts and server failures abstain, so a flaky resolver
//! never takes a domain down. The keeper votes only when its vote would
//! change, so it spends no fee to repeat itself.
//!
//! Layout: `check.rs` one lookup and its [`check::Verdict`]; `config.rs`
//! the settings; this file the
//! loop, the log (SQLite) and the HTTP API (`/metrics`, `/checks`).

pub mod check;
mod config;

pub use config::{system_resolver, Config, DEFAULT_PORT};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aether_keeper::{Counters, Metric};
use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::programs::client::{AetherClient, ProgramClientError};
use aether_sdk::programs::{registry, staking};
use aether_sdk::registry_program::state::{DomainBinding, DomainStatus};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use check::Verdict;
use rusqlite::{params, Connection};

/// Why the keeper could not start or a round failed.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The operator's keypair file.
    #[error("reading the keypair {0}: {1}")]
    Keypair(String, String),
    /// The check log.
    #[error("check log: {0}")]
    Store(#[from] rusqlite::Error),
    /// The check log's file.
    #[error("check log: {0}")]
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
    /// Lookups made.
    pub checks: AtomicU64,
    /// Lookups with no answer (no vote).
    pub unknown: AtomicU64,
    /// Attestations sent and confirmed.
    pub attestations: AtomicU64,
    /// Attestations the cluster refused.
    pub attestation_errors: AtomicU64,
}

impl Counters for Metrics {
    fn lines(&self) -> Vec<Metric<'_>> {
        vec![
            ("aether_dns_rounds_total", "counter", &self.rounds),
            (
                "aether_dns_round_errors_total",
                "counter",
                &self.round_errors,
            ),
            ("aether_dns_checks_total", "counter", &self.checks),
            ("aether_dns_unknown_total", "counter", &self.unknown),
            (
                "aether_dns_attestations_total",
                "counter",
                &self.attestations,
            ),
            (
                "aether_dns_attestation_errors_total",
                "counter",
                &self.attestation_errors,
            ),
        ]
    }

    fn round_counts(&self) -> (&AtomicU64, &AtomicU64) {
        (&self.rounds, &self.round_errors)
    }
}

/// Inactive voters named in one attestation, so that it stays well within
/// a transaction's 1,232 bytes.
const MAX_DROPPED_PER_VOTE: usize = 16;

const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE checks (
    at INTEGER NOT NULL,
    domain TEXT NOT NULL,
    target TEXT NOT NULL,
    verdict TEXT NOT NULL,
    detail TEXT NOT NULL,
    voted INTEGER
);
CREATE INDEX checks_by_domain ON checks (domain, at);
"#];

/// One logged check, as `/checks` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckRecord {
    /// Unix time of the lookup.
    pub at: i64,
    /// The domain.
    pub domain: String,
    /// The binding's target, hex.
    pub target: String,
    /// `names`, `missing`, `wrong` or `unknown`.
    pub verdict: String,
    /// Why, for `wrong` and `unknown`.
    pub detail: String,
    /// The vote sent, if one was.
    pub voted: Option<bool>,
}

/// A running keeper.
pub struct DnsKeeper {
    keeper: aether_keeper::Keeper<Metrics>,
}

struct Worker {
    client: Arc<AetherClient>,
    attester_node: Pubkey,
    resolver: hickory_resolver::TokioResolver,
    max_txt_bytes: usize,
    db: Arc<Mutex<Connection>>,
    metrics: Arc<Metrics>,
}

impl Worker {
    async fn round(&self) -> Result<(), DnsError> {
        let client = self.client.clone();
        let bindings =
            aether_keeper::blocking(move || Ok::<_, DnsError>(client.domain_bindings()?)).await?;
        for (_, binding) in bindings {
            if matches!(binding.status, DomainStatus::Pending | DomainStatus::Live) {
                self.check(&binding).await?;
            }
        }
        Ok(())
    }

    async fn check(&self, binding: &DomainBinding) -> Result<(), DnsError> {
        let target = hex::encode(binding.target);
        let expected = registry::txt_value(&binding.target, &binding.owner);
        let verdict = check::check(
            &self.resolver,
            &binding.domain,
            &expected,
            self.max_txt_bytes,
        )
        .await;
        self.metrics.checks.fetch_add(1, Ordering::Relaxed);
        let current = if binding.approvals.contains(&self.attester_node) {
            Some(true)
        } else if binding.rejections.contains(&self.attester_node) {
            Some(false)
        } else {
            None
        };
        let vote = verdict.vote();
        if vote.is_none() {
            self.metrics.unknown.fetch_add(1, Ordering::Relaxed);
        }
        let mut voted = None;
        if let Some(ok) = vote.filter(|v| Some(*v) != current) {
            let client = self.client.clone();
            let (domain, owner, target_bytes) =
                (binding.domain.clone(), binding.owner, binding.target);
            // Votes of core nodes no longer active are dropped with ours,
            // so that they neither count nor hold a slot (a few per
            // transaction, to stay within its size).
            let voters: Vec<Pubkey> = binding
                .approvals
                .iter()
                .chain(&binding.rejections)
                .filter(|k| **k != self.attester_node)
                .copied()
                .collect();
            let sent = tokio::task::spawn_blocking(move || {
                let attester = client.payer();
                let mut inactive = client.inactive_nodes(&voters)?;
                inactive.truncate(MAX_DROPPED_PER_VOTE);
                client.send(vec![registry::dropping_inactive(
                    registry::attest_domain(attester, &domain, &owner, target_bytes, ok),
                    &inactive,
                )])
            })
            .await
            .map_err(|e| aether_keeper::TaskFailed(e.to_string()))?;
            match sent {
                Ok(signature) => {
                    tracing::info!(domain = %binding.domain, ok, %signature, "attested");
                    self.metrics.attestations.fetch_add(1, Ordering::Relaxed);
                    voted = Some(ok);
                }
                Err(e) => {
                    self.metrics
                        .attestation_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(domain = %binding.domain, error = %e, "attestation refused");
                }
            }
        }
        let (name, detail) = match &verdict {
            Verdict::Names => ("names", String::new()),
            Verdict::Missing => ("missing", String::new()),
            Verdict::Wrong(why) => ("wrong", why.clone()),
            Verdict::Unknown(why) => ("unknown", why.clone()),
        };
        self.db.lock().unwrap().execute(
            "INSERT INTO checks (at, domain, target, verdict, detail, voted) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![aether_keeper::unix_now(), binding.domain, target, name, detail, voted],
        )?;
        Ok(())
    }
}

#[derive(Clone)]
struct ApiState {
    db: Arc<Mutex<Connection>>,
}

async fn checks(
    State(state): State<ApiState>,
) -> Result<Json<Vec<CheckRecord>>, (axum::http::StatusCode, String)> {
    let rows = aether_keeper::db_read(&state.db, |db| -> rusqlite::Result<Vec<CheckRecord>> {
        let mut stmt = db.prepare(
            "SELECT at, domain, target, verdict, detail, voted FROM checks ORDER BY rowid DESC LIMIT 1000",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(CheckRecord {
                at: r.get(0)?,
                domain: r.get(1)?,
                target: r.get(2)?,
                verdict: r.get(3)?,
                detail: r.get(4)?,
                voted: r.get(5)?,
            })
        })?;
        rows.collect()
    })
    .await?;
    Ok(Json(rows))
}

impl DnsKeeper {
    /// Reads the keypair, opens the log, binds the API and starts checking.
    pub async fn start(config: Config) -> Result<DnsKeeper, DnsError> {
        let keypair = solana_keypair::read_keypair_file(&config.keypair)
            .map_err(|e| DnsError::Keypair(config.keypair.display().to_string(), e.to_string()))?;
        let operator = solana_signer::Signer::pubkey(&keypair);
        let db = Arc::new(Mutex::new(aether_keeper::open_db(
            &config.db_path,
            MIGRATIONS,
        )?));
        let metrics = Arc::new(Metrics::default());
        let addr = SocketAddr::new(config.bind, config.port);
        let app = Router::new()
            .route("/checks", get(checks))
            .with_state(ApiState { db: db.clone() });
        let mut keeper = aether_keeper::Keeper::serve(addr, app, metrics.clone())
            .await
            .map_err(|e| DnsError::Bind(addr, e))?;
        let addr = keeper.addr();
        let worker = Worker {
            client: Arc::new(AetherClient::new(&config.rpc_url, keypair)),
            attester_node: staking::node(&operator),
            resolver: check::resolver(config.resolver, config.timeout),
            max_txt_bytes: config.max_txt_bytes,
            db,
            metrics,
        };
        keeper.spawn_rounds("dns", config.interval, worker, |worker| async move {
            worker.round().await
        });
        tracing::info!(%addr, %operator, resolver = %config.resolver, "dns keeper started");
        Ok(DnsKeeper { keeper })
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

/// Runs a keeper until `shutdown` resolves; `on_ready` sees it started.
pub async fn run(
    config: Config,
    on_ready: impl FnOnce(&DnsKeeper),
    shutdown: impl Future<Output = ()>,
) -> Result<(), DnsError> {
    aether_keeper::run(
        "dns keeper",
        DnsKeeper::start(config),
        on_ready,
        shutdown,
        DnsKeeper::stop,
    )
    .await
}
