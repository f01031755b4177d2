//! `/domains`: domain bindings and their status.

use std::collections::HashMap;

use aether_sdk::indexer_client::IndexedDomain;
use axum::extract::{Query, State};
use axum::Json;

use super::{read, ApiError, AppState};

pub(super) async fn domains(
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
