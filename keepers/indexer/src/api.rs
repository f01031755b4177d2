//! The HTTP API: JSON lists with filters and pages, `/status`, `/metrics`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use aether_sdk::indexer_client::{
    IndexedBatch, IndexedCapacity, IndexedDomain, IndexedEvent, IndexedNode, IndexedProvider,
    IndexedStream, IndexerEndpoint, IndexerStatus, Page,
};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::{params_from_iter, Connection, OptionalExtension, Row};
use serde::Deserialize;

use crate::endpoints::Endpoints;
use crate::follow::Metrics;
use crate::store::amount;

#[derive(Clone)]
pub(crate) struct AppState {
    /// A read connection of its own: reads never wait for the writer.
    pub reader: Arc<Mutex<Connection>>,
    pub metrics: Arc<Metrics>,
    pub endpoints: Arc<Endpoints>,
}

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/health",
            get(|| async { Json(serde_json::json!({"ok": true})) }),
        )
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/events", get(events))
        .route("/nodes", get(nodes))
        .route("/nodes/{record}", get(node))
        .route("/streams", get(streams))
        .route("/streams/{stream}", get(stream))
        .route("/batches", get(batches))
        .route("/domains", get(domains))
        .with_state(state)
}

/// A client error (bad filter) or the database's.
enum ApiError {
    Bad(String),
    NotFound,
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, error) = match self {
            ApiError::Bad(e) => (StatusCode::BAD_REQUEST, e),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not found".to_owned()),
            ApiError::Internal(e) => (StatusCode::INTERNAL_SERVER_ERROR, e),
        };
        (code, Json(serde_json::json!({ "error": error }))).into_response()
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// Runs a read on a blocking thread.
async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let reader = state.reader.clone();
    tokio::task::spawn_blocking(move || f(&reader.lock().unwrap()))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

fn limit(raw: Option<u32>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(100),
        Some(n @ 1..=1000) => Ok(n),
        Some(n) => Err(ApiError::Bad(format!("limit {n}: between 1 and 1000"))),
    }
}

fn status_of(state: &AppState, events: u64) -> IndexerStatus {
    IndexerStatus {
        head_slot: state.metrics.head_slot.load(Ordering::Relaxed),
        synced_slot: state.metrics.synced_slot.load(Ordering::Relaxed),
        lag_slots: state.metrics.lag(),
        events,
        endpoints: state
            .endpoints
            .all()
            .iter()
            .map(|e| IndexerEndpoint {
                url: e.url.clone(),
                resting: e.is_resting(),
            })
            .collect(),
    }
}

async fn status(State(state): State<AppState>) -> Result<Json<IndexerStatus>, ApiError> {
    let events = read(&state, |c| {
        Ok(c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get::<_, i64>(0))?)
    })
    .await?;
    Ok(Json(status_of(&state, events as u64)))
}

async fn metrics(State(state): State<AppState>) -> String {
    let m = &state.metrics;
    let resting = state
        .endpoints
        .all()
        .iter()
        .filter(|e| e.is_resting())
        .count();
    format!(
        "# TYPE aether_indexer_events_total counter\n\
         aether_indexer_events_total {}\n\
         # TYPE aether_indexer_transactions_total counter\n\
         aether_indexer_transactions_total {}\n\
         # TYPE aether_indexer_scans_total counter\n\
         aether_indexer_scans_total {}\n\
         # TYPE aether_indexer_scan_errors_total counter\n\
         aether_indexer_scan_errors_total {}\n\
         # TYPE aether_indexer_notifications_total counter\n\
         aether_indexer_notifications_total {}\n\
         # TYPE aether_indexer_head_slot gauge\n\
         aether_indexer_head_slot {}\n\
         # TYPE aether_indexer_synced_slot gauge\n\
         aether_indexer_synced_slot {}\n\
         # TYPE aether_indexer_lag_slots gauge\n\
         aether_indexer_lag_slots {}\n\
         # TYPE aether_indexer_endpoints_resting gauge\n\
         aether_indexer_endpoints_resting {}\n",
        m.events.load(Ordering::Relaxed),
        m.transactions.load(Ordering::Relaxed),
        m.scans.load(Ordering::Relaxed),
        m.scan_errors.load(Ordering::Relaxed),
        m.notifications.load(Ordering::Relaxed),
        m.head_slot.load(Ordering::Relaxed),
        m.synced_slot.load(Ordering::Relaxed),
        m.lag(),
        resting,
    )
}

#[derive(Deserialize)]
struct EventQuery {
    name: Option<String>,
    program: Option<String>,
    from_slot: Option<u64>,
    limit: Option<u32>,
    after: Option<String>,
}

/// `after` tokens are `slot:signature:index` of the last item seen.
fn parse_after(after: &str) -> Result<(i64, String, i64), ApiError> {
    let bad = || ApiError::Bad(format!("after {after:?}: not a token from `next`"));
    let mut parts = after.splitn(3, ':');
    let slot = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let sig = parts.next().ok_or_else(bad)?.to_owned();
    let idx = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    Ok((slot, sig, idx))
}

async fn events(
    State(state): State<AppState>,
    Query(q): Query<EventQuery>,
) -> Result<Json<Page<IndexedEvent>>, ApiError> {
    let limit = limit(q.limit)?;
    let after = q.after.as_deref().map(parse_after).transpose()?;
    read(&state, move |c| {
        let mut sql = String::from(
            "SELECT slot, signature, idx, block_time, program, name, data FROM events WHERE 1",
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(name) = q.name {
            sql.push_str(" AND name = ?");
            args.push(name.into());
        }
        if let Some(program) = q.program {
            sql.push_str(" AND program = ?");
            args.push(program.into());
        }
        if let Some(slot) = q.from_slot {
            sql.push_str(" AND slot >= ?");
            args.push((slot as i64).into());
        }
        if let Some((slot, sig, idx)) = after {
            sql.push_str(" AND (slot, signature, idx) > (?, ?, ?)");
            args.extend([slot.into(), sig.into(), idx.into()]);
        }
        sql.push_str(&format!(
            " ORDER BY slot, signature, idx LIMIT {}",
            limit + 1
        ));
        let mut stmt = c.prepare(&sql)?;
        let mut items = stmt
            .query_map(params_from_iter(args), |r| {
                let data: String = r.get(6)?;
                Ok(IndexedEvent {
                    slot: r.get::<_, i64>(0)? as u64,
                    signature: r.get(1)?,
                    index: r.get(2)?,
                    block_time: r.get(3)?,
                    program: r.get(4)?,
                    name: r.get(5)?,
                    data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|e| format!("{}:{}:{}", e.slot, e.signature, e.index))
        } else {
            None
        };
        Ok(Page { items, next })
    })
    .await
    .map(Json)
}

const NODE_SELECT: &str = "SELECT n.record, n.kind, n.owner, n.identity, n.parent,
        COALESCE(n.staking_node, p.staking_node), s.total_stake, s.status,
        n.endpoint, n.p2p_address, n.vcpus, n.memory_mib, n.disk_gib,
        n.min_price_compute_per_second, n.min_price_storage_per_gb_month, n.score, n.score_epoch
    FROM nodes n
    LEFT JOIN nodes p ON p.record = n.parent
    LEFT JOIN staking_nodes s ON s.node = COALESCE(n.staking_node, p.staking_node)";

fn node_row(r: &Row<'_>) -> rusqlite::Result<IndexedNode> {
    Ok(IndexedNode {
        record: r.get(0)?,
        kind: r.get(1)?,
        owner: r.get(2)?,
        identity: r.get(3)?,
        parent: r.get(4)?,
        staking_node: r.get(5)?,
        stake: r.get::<_, Option<i64>>(6)?.map_or(0, amount),
        status: r.get(7)?,
        endpoint: r.get(8)?,
        p2p_address: r.get(9)?,
        capacity: IndexedCapacity {
            vcpus: r.get(10)?,
            memory_mib: r.get(11)?,
            disk_gib: r.get(12)?,
        },
        min_price_compute_per_second: amount(r.get(13)?),
        min_price_storage_per_gb_month: amount(r.get(14)?),
        score: r.get(15)?,
        score_epoch: r.get::<_, Option<i64>>(16)?.map(|e| e as u64),
    })
}

async fn nodes(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<IndexedNode>>, ApiError> {
    let kind = q.get("kind").cloned();
    if let Some(k) = &kind {
        if k != "Core" && k != "Resource" {
            return Err(ApiError::Bad(format!("kind {k:?}: Core or Resource")));
        }
    }
    read(&state, move |c| {
        let mut stmt = c.prepare(&format!(
            "{NODE_SELECT} WHERE ?1 IS NULL OR n.kind = ?1 ORDER BY n.registered_slot, n.record"
        ))?;
        let nodes = stmt
            .query_map([kind], node_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(nodes)
    })
    .await
    .map(Json)
}

async fn node(
    State(state): State<AppState>,
    Path(record): Path<String>,
) -> Result<Json<IndexedNode>, ApiError> {
    read(&state, move |c| {
        c.query_row(
            &format!("{NODE_SELECT} WHERE n.record = ?1"),
            [record],
            node_row,
        )
        .optional()?
        .ok_or(ApiError::NotFound)
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
struct StreamQuery {
    owner: Option<String>,
    resource: Option<String>,
    provider: Option<String>,
    open: Option<bool>,
    limit: Option<u32>,
    after: Option<String>,
}

const STREAM_SELECT: &str = "SELECT stream, owner, resource, kind, max_rate_per_second, replicas,
        deposited, paid_out, last_settled, opened_at, exhausted, closed, refund FROM streams";

/// The chain's time as last read, or the wall clock before the first scan.
fn chain_now(metrics: &Metrics) -> i64 {
    match metrics
        .chain_time
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        0 => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
        time => time,
    }
}

fn stream_row(c: &Connection, r: &Row<'_>, now: i64) -> rusqlite::Result<IndexedStream> {
    let stream: String = r.get(0)?;
    let mut providers = c.prepare_cached(
        "SELECT provider, paid FROM stream_providers WHERE stream = ?1 ORDER BY position",
    )?;
    let providers = providers
        .query_map([&stream], |p| {
            Ok(IndexedProvider {
                provider: p.get(0)?,
                paid: amount(p.get(1)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let rate = amount(r.get(4)?);
    let deposited = amount(r.get(6)?);
    let paid_out = amount(r.get(7)?);
    let last_settled: i64 = r.get(8)?;
    let exhausted: bool = r.get(10)?;
    let closed: bool = r.get(11)?;
    // What `settle` would pay now: each provider the same whole share,
    // capped by the vault.
    let accrued = if providers.is_empty() || exhausted || closed {
        0
    } else {
        let n = providers.len() as u128;
        let elapsed = now.saturating_sub(last_settled).max(0) as u128;
        let each = (u128::from(rate) * elapsed) / n;
        let balance = u128::from(deposited.saturating_sub(paid_out));
        u64::try_from((each * n).min(balance / n * n)).unwrap_or(u64::MAX)
    };
    Ok(IndexedStream {
        stream,
        owner: r.get(1)?,
        resource: r.get(2)?,
        kind: r.get(3)?,
        max_rate_per_second: rate,
        replicas: r.get(5)?,
        providers,
        deposited,
        paid_out,
        accrued,
        last_settled,
        opened_at: r.get(9)?,
        exhausted,
        closed,
        refund: r.get::<_, Option<i64>>(12)?.map(amount),
    })
}

async fn streams(
    State(state): State<AppState>,
    Query(q): Query<StreamQuery>,
) -> Result<Json<Page<IndexedStream>>, ApiError> {
    let limit = limit(q.limit)?;
    let now = chain_now(&state.metrics);
    read(&state, move |c| {
        let mut sql = format!("{STREAM_SELECT} WHERE 1");
        let mut args: Vec<String> = Vec::new();
        if let Some(owner) = q.owner {
            sql.push_str(" AND owner = ?");
            args.push(owner);
        }
        if let Some(resource) = q.resource {
            sql.push_str(" AND resource = ?");
            args.push(resource.to_lowercase());
        }
        if let Some(provider) = q.provider {
            sql.push_str(" AND stream IN (SELECT stream FROM stream_providers WHERE provider = ?)");
            args.push(provider);
        }
        if q.open == Some(true) {
            sql.push_str(" AND exhausted = 0 AND closed = 0");
        }
        if let Some(after) = q.after {
            sql.push_str(" AND stream > ?");
            args.push(after);
        }
        sql.push_str(&format!(" ORDER BY stream LIMIT {}", limit + 1));
        let mut stmt = c.prepare(&sql)?;
        let mut items = stmt
            .query_map(params_from_iter(args), |r| stream_row(c, r, now))?
            .collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|s| s.stream.clone())
        } else {
            None
        };
        Ok(Page { items, next })
    })
    .await
    .map(Json)
}

async fn stream(
    State(state): State<AppState>,
    Path(stream): Path<String>,
) -> Result<Json<IndexedStream>, ApiError> {
    let now = chain_now(&state.metrics);
    read(&state, move |c| {
        c.query_row(
            &format!("{STREAM_SELECT} WHERE stream = ?1"),
            [stream],
            |r| stream_row(c, r, now),
        )
        .optional()?
        .ok_or(ApiError::NotFound)
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
struct BatchQuery {
    from_seq: Option<u64>,
    limit: Option<u32>,
}

async fn batches(
    State(state): State<AppState>,
    Query(q): Query<BatchQuery>,
) -> Result<Json<Vec<IndexedBatch>>, ApiError> {
    let limit = limit(q.limit)?;
    read(&state, move |c| {
        let mut stmt = c.prepare(
            "SELECT seq, root, count, content_id, submitter, signature, slot FROM batches
             WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(
                rusqlite::params![q.from_seq.unwrap_or(0) as i64, limit],
                |r| {
                    Ok(IndexedBatch {
                        seq: r.get::<_, i64>(0)? as u64,
                        root: r.get(1)?,
                        count: r.get(2)?,
                        content_id: r.get(3)?,
                        submitter: r.get(4)?,
                        signature: r.get(5)?,
                        slot: r.get::<_, i64>(6)? as u64,
                    })
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    })
    .await
    .map(Json)
}

async fn domains(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<IndexedDomain>>, ApiError> {
    let status = q.get("status").cloned();
    if let Some(s) = &status {
        if !["Pending", "Live", "Rejected", "Withdrawn"].contains(&s.as_str()) {
            return Err(ApiError::Bad(format!(
                "status {s:?}: Pending, Live, Rejected or Withdrawn"
            )));
        }
    }
    read(&state, move |c| {
        let mut stmt = c.prepare(
            "SELECT binding, domain, target, owner, status, approvals, rejections FROM domains
             WHERE ?1 IS NULL OR status = ?1 ORDER BY domain",
        )?;
        let rows = stmt
            .query_map([status], |r| {
                Ok(IndexedDomain {
                    binding: r.get(0)?,
                    domain: r.get(1)?,
                    target: r.get(2)?,
                    owner: r.get(3)?,
                    status: r.get(4)?,
                    approvals: r.get(5)?,
                    rejections: r.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    })
    .await
    .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accrual_is_reckoned_by_the_chain_clock_once_read() {
        let metrics = Metrics::default();
        let wall = chain_now(&metrics);
        assert!(wall > 0, "the wall clock before the first scan");
        // A localnet a year ahead of the wall clock.
        let ahead = wall + 365 * 86_400;
        metrics
            .chain_time
            .store(ahead, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(chain_now(&metrics), ahead);
    }
}
