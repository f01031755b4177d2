//! Messages: posting one (`/api/v0/messages`), listing them, and reading
//! one, its status and its proof of anchoring.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use aether_sdk::message::{Content, Message};
use aether_sdk::node_client::MessageStatus;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

use super::query::{cursor_of, cursor_text, filter_of, page_of};
use super::{outcome_response, ApiError, AppState};
use crate::charging::Turn;
use crate::process::Outcome;
use crate::store;

pub(super) async fn post_message(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("the body is not JSON: {e}"),
        )
    })?;
    let raw = value.get("message").ok_or_else(|| ApiError {
        field: Some("message".into()),
        ..ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_message",
            "the body has no message",
        )
    })?;
    let checked = Message::from_value(raw).and_then(|m| m.verify_content().map(|c| (m, c)));
    let (message, content) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            state.metrics.refused.fetch_add(1, Ordering::Relaxed);
            return Err(e.into());
        }
    };
    // Held until the write is committed (see `Charging::turn`).
    let turn = charging_turn(&state, &message, content.as_ref()).await?;
    let needs = crate::process::awaited_file(&message, content.as_ref());
    // On a task of its own, holding the address's turn: the write goes on
    // if the client leaves, and no other post of the address is checked
    // before it is committed.
    let outcome = {
        let writer = state.writer.clone();
        tokio::spawn(async move {
            let _turn = turn;
            writer.submit(message, content).await
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?
    };
    if let (Outcome::Pending(_), Some(hash), false) = (&outcome, needs, state.peers.is_empty()) {
        let (peers, files, writer, limit) = (
            state.peers.clone(),
            state.files.clone(),
            state.writer.clone(),
            state.max_file_size,
        );
        tokio::spawn(async move { peers.fetch_file(&hash, &files, &writer, limit).await });
    }
    Ok(outcome_response(outcome, &state.metrics))
}

/// With charging on, waits for the turn of `content`'s address and refuses
/// a message its balance cannot hold; the turn is held by the caller until
/// the write is committed.
async fn charging_turn(
    state: &AppState,
    message: &Message,
    content: Option<&Content>,
) -> Result<Option<Turn>, ApiError> {
    let mut turn = None;
    if let (Some(charging), Some(content)) = (&state.charging, content) {
        turn = charging.turn(content).await;
        // Refused before anything is stored: a retry after a top-up works.
        match charging
            .check(&state.readers, &message.item_hash, content)
            .await
        {
            Ok(None) => {}
            Ok(Some(shortfall)) => {
                state.metrics.refused.fetch_add(1, Ordering::Relaxed);
                return Err(ApiError {
                    field: Some("content.address".into()),
                    ..ApiError::new(
                        StatusCode::PAYMENT_REQUIRED,
                        "insufficient_balance",
                        shortfall.to_string(),
                    )
                });
            }
            Err(e @ crate::charging::ChargeError::Overflow(_)) => {
                state.metrics.refused.fetch_add(1, Ordering::Relaxed);
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_message",
                    e.to_string(),
                ));
            }
            Err(e) => {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "charging_unavailable",
                    format!("the balance could not be checked; try again: {e}"),
                ))
            }
        }
    }
    Ok(turn)
}

pub(super) async fn list_messages(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let filter = filter_of(&q)?;
    let format = content_format(&q)?;
    if let Some((after, per_page)) = cursor_of(&q)? {
        return list_from_cursor(&state, filter, after, per_page, format).await;
    }
    let (page, per_page) = page_of(&q)?;
    let (mut messages, total) = state
        .readers
        .with(move |c| store::list_messages(c, &filter, page, per_page))
        .await?;
    for message in &mut messages {
        format.apply(message);
    }
    Ok(Json(json!({
        "messages": messages,
        "pagination_page": page,
        "pagination_per_page": per_page,
        "pagination_total": total,
        "pagination_item": "messages",
    })))
}

/// A listing by cursor: `pagination` messages at most and `next_cursor`,
/// `null` on the last page; no total and no page numbers.
async fn list_from_cursor(
    state: &AppState,
    filter: store::Filter,
    after: Option<store::After>,
    per_page: u64,
    format: ContentFormat,
) -> Result<Json<Value>, ApiError> {
    let (mut messages, next) = state
        .readers
        .with(move |c| store::list_messages_after(c, &filter, after, per_page))
        .await?;
    for message in &mut messages {
        format.apply(message);
    }
    Ok(Json(json!({
        "messages": messages,
        "pagination_per_page": per_page,
        "next_cursor": next.map(cursor_text),
    })))
}

/// How much of each message's content a listing shows (`contentFormat`,
/// or the older `excludeContent=true`, as Aleph has them).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ContentFormat {
    Full,
    Headers,
    None,
}

fn content_format(q: &HashMap<String, String>) -> Result<ContentFormat, ApiError> {
    match q.get("contentFormat").map(String::as_str) {
        Some("full") => Ok(ContentFormat::Full),
        Some("headers") => Ok(ContentFormat::Headers),
        Some("none") => Ok(ContentFormat::None),
        Some(other) => Err(ApiError {
            field: Some("contentFormat".into()),
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("contentFormat {other:?}: full, headers or none"),
            )
        }),
        None => match q.get("excludeContent").map(String::as_str) {
            Some("true" | "1") => Ok(ContentFormat::None),
            _ => Ok(ContentFormat::Full),
        },
    }
}

impl ContentFormat {
    fn apply(self, message: &mut Value) {
        let Some(object) = message.as_object_mut() else {
            return;
        };
        match self {
            ContentFormat::Full => {}
            ContentFormat::None => {
                object.remove("content");
            }
            ContentFormat::Headers => {
                let content = object.remove("content").unwrap_or(Value::Null);
                let kind = object
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let fields: &[&str] = match kind {
                    "POST" => &["address", "type", "ref"],
                    "AGGREGATE" => &["address", "key"],
                    "STORE" => &["address", "item_hash", "ref"],
                    _ => &["address"],
                };
                let headers: serde_json::Map<String, Value> = fields
                    .iter()
                    .filter_map(|f| {
                        let value = content.get(*f)?;
                        (!value.is_null()).then(|| ((*f).to_owned(), value.clone()))
                    })
                    .collect();
                object.insert("content".into(), Value::Object(headers));
            }
        }
    }
}

/// The message stored under `hash`, or a 404 naming it.
pub(super) async fn stored_or_404(state: &AppState, hash: &str) -> Result<store::Stored, ApiError> {
    let key = hash.to_string();
    state
        .readers
        .with(move |c| store::get_message(c, &key))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no message {hash}"),
            )
        })
}

pub(super) async fn get_message(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let stored = stored_or_404(&state, &hash).await?;
    let mut body = json!({
        "status": stored.status,
        "item_hash": hash,
        "reception_time": stored.reception_time,
    });
    match stored.status {
        MessageStatus::Pending => {
            body["messages"] = json!([stored.record]);
            body["reason"] = json!(stored.reason);
        }
        MessageStatus::Rejected => {
            body["message"] = stored.record;
            body["error_code"] = json!(stored.error_code);
            body["details"] = json!({ "errors": [stored.reason] });
        }
        MessageStatus::Forgotten => {
            body["message"] = stored.record;
            body["forgotten_by"] = json!(stored.forgotten_by);
        }
        _ => body["message"] = stored.record,
    }
    Ok(Json(body))
}

pub(super) async fn get_status(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let stored = stored_or_404(&state, &hash).await?;
    Ok(Json(
        json!({"status": stored.status, "item_hash": hash, "reception_time": stored.reception_time}),
    ))
}

pub(super) async fn get_proof(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let key = hash.clone();
    let store::BatchOf {
        submitter,
        seq,
        index,
        hashes,
    } = state
        .readers
        .with(move |c| store::batch_of(c, &key))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_anchored",
                format!("{hash} is not in an anchored batch (yet)"),
            )
        })?;
    let leaves: Vec<_> = hashes
        .iter()
        .map(|h| aether_sdk::proof::merkle::leaf_hash(h.as_bytes()))
        .collect();
    let submitter = submitter
        .parse()
        .map_err(|_| ApiError::internal("the batch's submitter is not a key"))?;
    let proof = aether_sdk::proof::AnchoredProof::build(&submitter, seq, &leaves, index as usize)
        .ok_or_else(|| ApiError::internal("a batch member is out of its batch"))?;
    let root = aether_sdk::proof::merkle::root(&leaves).map(hex::encode);
    let mut body = serde_json::to_value(&proof).map_err(ApiError::internal)?;
    body["root"] = json!(root);
    body["count"] = json!(hashes.len());
    Ok(Json(body))
}
