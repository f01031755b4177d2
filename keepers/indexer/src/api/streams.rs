//! `/streams` and `/streams/{stream}`: payment streams, their providers
//! and what they have accrued.

use aether_sdk::indexer_client::{IndexedProvider, IndexedStream, Page};
use axum::extract::{Path, Query, State};
use axum::Json;
use rusqlite::{params_from_iter, Connection, OptionalExtension, Row};
use serde::Deserialize;

use super::{limit, read, ApiError, AppState};
use crate::follow::Metrics;
use crate::store::amount;

#[derive(Deserialize)]
pub(super) struct StreamQuery {
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
        0 => aether_keeper::unix_now(),
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

pub(super) async fn streams(
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

pub(super) async fn stream(
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
