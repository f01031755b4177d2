//! The HTTP API, compatible with the Aleph core node API v0.
//!
//! Every error is `{"error": {"code": <stable code>, "message": <for a
//! person>, "field": <when a field is at fault>}}` with a 4xx or 5xx status.
//!
//! Layout: this file the router, [`AppState`], [`Metrics`], [`ApiError`]
//! and the answer to a posted message; `query.rs` filters and pages;
//! `messages.rs` posting, listing and reading messages; `aggregates.rs`
//! aggregates and posts; `accounts.rs` an address's balance and files;
//! `prices.rs` what content costs; `storage.rs` file upload and download;
//! `stream.rs` the WebSocket of messages; `info.rs` info and metrics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aether_sdk::message::MessageError;
use aether_sdk::node_client::MessageStatus;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::broadcast;

use crate::files::ContentStore;
use crate::process::Outcome;
use crate::store::{self, Readers};
use crate::writer::{Processed, Writer};

mod accounts;
mod aggregates;
mod info;
mod messages;
mod prices;
mod query;
mod storage;
mod stream;

pub use query::MAX_PER_PAGE;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Read connections.
    pub readers: Readers,
    /// The writer.
    pub writer: Writer,
    /// Files on disk.
    pub files: ContentStore,
    /// Processed messages as they commit.
    pub live: broadcast::Sender<Processed>,
    /// Limits.
    pub max_file_size: u64,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Turns true when the node stops: long-lived streams end.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// Peer nodes.
    pub peers: crate::peers::Peers,
    /// Paying by holding tokens, when on.
    pub charging: Option<Arc<crate::charging::Charging>>,
}

/// Counters shown on `/metrics`.
#[derive(Default)]
pub struct Metrics {
    /// Messages accepted and processed.
    pub processed: AtomicU64,
    /// Messages stored as pending.
    pub pending: AtomicU64,
    /// Messages refused (invalid or rejected).
    pub refused: AtomicU64,
    /// Files stored.
    pub files: AtomicU64,
    /// Bytes of files stored.
    pub file_bytes: AtomicU64,
}

/// An API error: status, stable code, message, and the field at fault.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    }
}

impl From<MessageError> for ApiError {
    fn from(e: MessageError) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_message",
            field: Some(e.field().to_string()),
            message: e.to_string(),
        }
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

/// The router of every endpoint.
pub fn router(
    state: AppState,
    max_message_size: usize,
    request_timeout: std::time::Duration,
) -> Router {
    let uploads = Router::new()
        .route("/api/v0/storage/add_file", post(storage::add_file_storage))
        .route("/api/v0/ipfs/add_file", post(storage::add_file_ipfs))
        .route("/api/v0/storage/add_json", post(storage::add_json))
        .route("/api/v0/ipfs/add_json", post(storage::add_json))
        // Uploads stream to disk under their own limit.
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .route("/api/v0/messages", post(messages::post_message))
        .route("/api/v0/messages.json", get(messages::list_messages))
        .route("/api/v0/messages/{hash}", get(messages::get_message))
        .route("/api/v0/messages/{hash}/status", get(messages::get_status))
        .route("/api/v0/messages/{hash}/proof", get(messages::get_proof))
        .route("/api/v0/aggregates/{file}", get(aggregates::aggregates))
        .route("/api/v0/aggregates", get(aggregates::aggregate_list))
        .route("/api/v0/aggregates.json", get(aggregates::aggregate_list))
        .route("/api/v0/posts.json", get(aggregates::posts))
        .route("/api/v1/posts.json", get(aggregates::posts_v1))
        .route(
            "/api/v0/addresses/{address}/balance",
            get(accounts::balance),
        )
        .route("/api/v0/addresses/{address}/files", get(accounts::files))
        .route("/api/v0/price/estimate", post(prices::estimate))
        .route("/api/v0/price/{hash}", get(prices::price))
        .route("/api/v0/storage/raw/{hash}", get(storage::raw))
        .route("/api/ws0/messages", get(stream::stream))
        .route("/api/v0/info/public.json", get(info::info))
        .route("/metrics", get(info::metrics))
        .layer(DefaultBodyLimit::max(max_message_size))
        // A client that trickles its request gets 408 instead of holding a
        // connection forever. (A WebSocket lives on after its upgrade.)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .merge(uploads)
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .with_state(state)
}

/// A Unix time as Aleph's API writes dates: RFC 3339 in UTC, `+00:00`.
fn iso_time(time: f64) -> String {
    let secs = time.floor();
    let nanos = ((time - secs) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    chrono::DateTime::from_timestamp(secs as i64, nanos)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
        .unwrap_or_default()
}

/// The answer to a posted message (from `/api/v0/messages` or with an
/// upload), counted in `metrics`.
fn outcome_response(outcome: Outcome, metrics: &Metrics) -> Response {
    let (status, message_status, error) = match outcome {
        Outcome::Processed => (StatusCode::OK, MessageStatus::Processed, None),
        Outcome::Pending(reason) => (StatusCode::ACCEPTED, MessageStatus::Pending, Some(reason)),
        Outcome::Rejected { reason, .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            MessageStatus::Rejected,
            Some(reason),
        ),
        Outcome::Known(status) => {
            let code = match status {
                MessageStatus::Processed => StatusCode::OK,
                MessageStatus::Rejected => StatusCode::UNPROCESSABLE_ENTITY,
                MessageStatus::Forgotten => StatusCode::GONE,
                _ => StatusCode::ACCEPTED,
            };
            return (
                code,
                Json(json!({"publication_status": {"status": "success", "failed": []}, "message_status": status})),
            )
                .into_response();
        }
    };
    let counter = match message_status {
        MessageStatus::Processed => &metrics.processed,
        MessageStatus::Pending => &metrics.pending,
        _ => &metrics.refused,
    };
    counter.fetch_add(1, Ordering::Relaxed);
    let mut body = json!({"publication_status": {"status": "success", "failed": []}, "message_status": message_status});
    if let Some(reason) = error {
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            body["error"] = json!({"code": "rejected", "message": reason});
        } else {
            body["reason"] = json!(reason);
        }
    }
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_written_as_aleph_writes_them() {
        assert_eq!(super::iso_time(0.0), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            super::iso_time(1_700_000_000.5),
            "2023-11-14T22:13:20.500+00:00"
        );
    }
}
