//! `/events`: every recorded event, filtered and paged.

use aether_sdk::indexer_client::{IndexedEvent, Page};
use axum::extract::{Query, State};
use axum::Json;
use rusqlite::params_from_iter;
use serde::Deserialize;

use super::{limit, read, ApiError, AppState};

#[derive(Deserialize)]
pub(super) struct EventQuery {
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

pub(super) async fn events(
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
