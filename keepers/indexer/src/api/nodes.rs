//! `/nodes` and `/nodes/{record}`: node records with their stake.

use std::collections::HashMap;

use aether_sdk::indexer_client::{IndexedCapacity, IndexedNode};
use axum::extract::{Path, Query, State};
use axum::Json;
use rusqlite::{OptionalExtension, Row};

use super::{read, ApiError, AppState};
use crate::store::amount;

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

pub(super) async fn nodes(
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

pub(super) async fn node(
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
