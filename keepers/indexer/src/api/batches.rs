//! `/batches`: anchored message batches.

use aether_sdk::indexer_client::IndexedBatch;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

use super::{limit, read, ApiError, AppState};

#[derive(Deserialize)]
pub(super) struct BatchQuery {
    from_seq: Option<u64>,
    limit: Option<u32>,
}

pub(super) async fn batches(
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
