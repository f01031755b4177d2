//! Aggregates (`/api/v0/aggregates/{address}.json`, and every aggregate
//! at `/api/v0/aggregates`) and posts (`/api/v0/posts.json`, and the
//! shorter `/api/v1/posts.json`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::query::{count_param, cursor_of, cursor_text, filter_of, list_param, page_of};
use super::{iso_time, ApiError, AppState};
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
    let (posts, per_page, terms) = post_page(&state, &q).await?;
    let posts: Vec<Value> = posts.into_iter().map(|(post, _)| post).collect();
    Ok(Json(listing(posts, per_page, terms)))
}

/// How a page of posts was chosen: by number (with the total) or by
/// cursor (with where the next starts).
enum Terms {
    Page { page: u64, total: u64 },
    Cursor { next: Option<store::After> },
}

/// One page of posts, with each original's time, and the page's terms.
async fn post_page(
    state: &AppState,
    q: &HashMap<String, String>,
) -> Result<(Vec<(Value, f64)>, u64, Terms), ApiError> {
    let filter = filter_of(q)?;
    if let Some((after, per_page)) = cursor_of(q)? {
        let (posts, next) = state
            .readers
            .with(move |c| store::posts_after(c, &filter, after, per_page))
            .await?;
        return Ok((posts, per_page, Terms::Cursor { next }));
    }
    let (page, per_page) = page_of(q)?;
    let (posts, total) = state
        .readers
        .with(move |c| store::posts(c, &filter, page, per_page))
        .await?;
    Ok((posts, per_page, Terms::Page { page, total }))
}

fn listing(posts: Vec<Value>, per_page: u64, terms: Terms) -> Value {
    match terms {
        Terms::Page { page, total } => json!({
            "posts": posts,
            "pagination_page": page,
            "pagination_per_page": per_page,
            "pagination_total": total,
            "pagination_item": "posts",
        }),
        Terms::Cursor { next } => json!({
            "posts": posts,
            "pagination_per_page": per_page,
            "next_cursor": next.map(cursor_text),
        }),
    }
}

/// Most aggregates on one page, as Aleph has it.
const MAX_AGGREGATES_PER_PAGE: u64 = 500;

/// Every aggregate, by `addresses` and `keys`, sorted by `sortBy`
/// (`last_modified` or `creation_time`) and `sortOrder` (-1 or 1).
pub(super) async fn aggregate_list(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let bad = |field: &str, why: String| ApiError {
        field: Some(field.to_owned()),
        ..ApiError::new(StatusCode::BAD_REQUEST, "bad_query", why)
    };
    let per_page = count_param(&q, "pagination", false)?.unwrap_or(20);
    if per_page > MAX_AGGREGATES_PER_PAGE {
        return Err(bad(
            "pagination",
            format!("pagination is at most {MAX_AGGREGATES_PER_PAGE}"),
        ));
    }
    let page = count_param(&q, "page", false)?.unwrap_or(1);
    if page
        .checked_mul(per_page)
        .is_none_or(|end| end > i64::MAX as u64)
    {
        return Err(bad("page", format!("page {page} is beyond any listing")));
    }
    let by_creation = match q.get("sortBy").map(String::as_str) {
        None | Some("last_modified") => false,
        Some("creation_time") => true,
        Some(other) => {
            return Err(bad(
                "sortBy",
                format!("sortBy {other:?}: last_modified or creation_time"),
            ))
        }
    };
    let ascending = match q.get("sortOrder").map(String::as_str) {
        None | Some("-1") => false,
        Some("1") => true,
        Some(other) => return Err(bad("sortOrder", format!("sortOrder {other:?}: -1 or 1"))),
    };
    let query = store::AggregateQuery {
        addresses: list_param(&q, &["addresses"]),
        keys: list_param(&q, &["keys"]),
        by_creation,
        ascending,
    };
    let (rows, total) = state
        .readers
        .with(move |c| store::aggregate_list(c, &query, page, per_page))
        .await?;
    let aggregates: Vec<Value> = rows
        .into_iter()
        .map(|(address, key, content, created, updated)| {
            json!({
                "address": address,
                "key": key,
                "content": content,
                "created": iso_time(created),
                "last_updated": iso_time(updated),
            })
        })
        .collect();
    Ok(Json(json!({
        "aggregates": aggregates,
        "pagination_page": page,
        "pagination_per_page": per_page,
        "pagination_total": total,
        "pagination_item": "aggregates",
    })))
}

/// Posts as Aleph's v1 lists them: the post's document, not its message.
pub(super) async fn posts_v1(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (posts, per_page, terms) = post_page(&state, &q).await?;
    let posts: Vec<Value> = posts
        .into_iter()
        .map(|(p, created)| {
            json!({
                "item_hash": p["item_hash"],
                "content": p["content"],
                "original_item_hash": p["original_item_hash"],
                "original_type": p["original_type"],
                "address": p["address"],
                "ref": p["ref"],
                "channel": p["channel"],
                "created": iso_time(created),
                "last_updated": iso_time(p["time"].as_f64().unwrap_or(created)),
            })
        })
        .collect();
    Ok(Json(listing(posts, per_page, terms)))
}
