//! Aggregates (`/api/v0/aggregates/{address}.json`) and posts
//! (`/api/v0/posts.json`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::query::{filter_of, list_param, page_of};
use super::{ApiError, AppState};
use crate::store;

pub(super) async fn aggregates(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let address = file.strip_suffix(".json").unwrap_or(&file).to_string();
    let keys = list_param(&q, &["keys"]);
    let who = address.clone();
    let rows = state
        .readers
        .with(move |c| store::aggregates(c, &who, &keys))
        .await?;
    if rows.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no aggregate for {address}"),
        ));
    }
    let with_info = q.get("with_info").is_some_and(|v| v == "true" || v == "1");
    let mut data = serde_json::Map::new();
    let mut info = serde_json::Map::new();
    for (key, content, created, updated) in rows {
        if with_info {
            info.insert(
                key.clone(),
                json!({"created": created, "last_updated": updated}),
            );
        }
        data.insert(key, content);
    }
    Ok(Json(
        json!({"address": address, "data": data, "info": info}),
    ))
}

pub(super) async fn posts(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let filter = filter_of(&q)?;
    let (page, per_page) = page_of(&q)?;
    let (posts, total) = state
        .readers
        .with(move |c| store::posts(c, &filter, page, per_page))
        .await?;
    Ok(Json(json!({
        "posts": posts,
        "pagination_page": page,
        "pagination_per_page": per_page,
        "pagination_total": total,
        "pagination_item": "posts",
    })))
}
