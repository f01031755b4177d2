//! What content costs to hold here: `/api/v0/price/{item_hash}` for a
//! message the node has, `/api/v0/price/estimate` for one not sent yet, as
//! Aleph's API and aleph-sdk-python's `get_program_price`,
//! `get_estimated_price` and `get_store_estimated_price` have them. Costs
//! are in the stake token's base units, at this node's prices; a node that
//! does not charge prices everything at 0.

use std::str::FromStr;

use aether_sdk::message::{Content, MessageType};
use aether_sdk::node_client::MessageStatus;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::messages::stored_or_404;
use super::{ApiError, AppState};

pub(super) async fn price(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let stored = stored_or_404(&state, &hash).await?;
    match stored.status {
        MessageStatus::Processed | MessageStatus::Removing => {}
        MessageStatus::Pending => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "pending",
                format!("{hash} is pending: it is priced once processed"),
            ))
        }
        other => {
            return Err(ApiError::new(
                StatusCode::GONE,
                "gone",
                format!("{hash} is {other:?}: it costs nothing"),
            ))
        }
    }
    let record = &stored.record;
    let kind = record["type"].as_str().unwrap_or_default();
    let content = parse(kind, &record["content"])?;
    let charged = record["content"]["address"].as_str().unwrap_or_default();
    answer(&state, content, None, charged).await
}

pub(super) async fn estimate(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let bad = |why: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_message", why);
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let message = &body["message"];
    let kind = message["type"].as_str().unwrap_or_default();
    let text = message["item_content"]
        .as_str()
        .ok_or_else(|| bad("the message has no item_content to price".into()))?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| bad(format!("item_content is not JSON: {e}")))?;
    // A STORE priced before its upload states its size.
    let size_mib = value["estimated_size_mib"].as_u64();
    let mut parsed = value.clone();
    if let Some(object) = parsed.as_object_mut() {
        object.remove("estimated_size_mib");
    }
    let content = parse(kind, &parsed)?;
    let charged = value["address"].as_str().unwrap_or_default().to_owned();
    answer(&state, content, size_mib, &charged).await
}

/// `content` of message type `kind`, when it is one that is priced.
fn parse(kind: &str, content: &Value) -> Result<Content, ApiError> {
    let kind = MessageType::from_str(kind).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_priced",
            format!("{kind:?} is not a message type"),
        )
    })?;
    let content = Content::parse(kind, &content.to_string())?;
    if !matches!(
        content,
        Content::Store(_) | Content::Program(_) | Content::Instance(_)
    ) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_priced",
            format!("{kind:?} messages cost nothing to hold: only STORE, PROGRAM and INSTANCE are priced"),
        ));
    }
    Ok(content)
}

async fn answer(
    state: &AppState,
    content: Content,
    size_mib: Option<u64>,
    charged: &str,
) -> Result<Json<Value>, ApiError> {
    let stream = crate::charging::stream_declared(&content);
    let (kind, name) = match &content {
        Content::Store(_) => ("STORAGE", "the stored file"),
        _ => ("EXECUTION", "the machine"),
    };
    let cost = match &state.charging {
        Some(charging) => charging
            .price(&state.readers, content, size_mib)
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_message",
                    e.to_string(),
                )
            })?,
        None => 0,
    };
    let (hold, streamed) = if stream { (0, cost) } else { (cost, 0) };
    Ok(Json(json!({
        "required_tokens": hold,
        "payment_type": if stream { "superfluid" } else { "hold" },
        "cost": cost.to_string(),
        "detail": [{
            "type": kind,
            "name": name,
            "cost_hold": hold.to_string(),
            "cost_stream": streamed.to_string(),
            "cost_credit": "0",
            "size_mib": size_mib,
        }],
        "charged_address": charged,
    })))
}
