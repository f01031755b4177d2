//! The HTTP API: JSON lists with filters and pages, `/status`, `/metrics`.
//!
//! Layout: this file the router, `AppState`, the errors and the helpers
//! every route uses; `status.rs` `/status` and `/metrics`; `events.rs`
//! `/events`; `nodes.rs` `/nodes`; `streams.rs` `/streams`; `batches.rs`
//! `/batches`; `domains.rs` `/domains`.

mod batches;
mod domains;
mod events;
mod nodes;
mod status;
mod streams;

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::Connection;

use crate::endpoints::Endpoints;
use crate::follow::Metrics;

#[derive(Clone)]
pub(crate) struct AppState {
    /// A read connection of its own: reads never wait for the writer.
    pub reader: Arc<Mutex<Connection>>,
    pub metrics: Arc<Metrics>,
    pub endpoints: Arc<Endpoints>,
}

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/health",
            get(|| async { Json(serde_json::json!({"ok": true})) }),
        )
        .route("/status", get(status::status))
        .route("/metrics", get(status::metrics))
        .route("/events", get(events::events))
        .route("/nodes", get(nodes::nodes))
        .route("/nodes/{record}", get(nodes::node))
        .route("/streams", get(streams::streams))
        .route("/streams/{stream}", get(streams::stream))
        .route("/batches", get(batches::batches))
        .route("/domains", get(domains::domains))
        .with_state(state)
}

/// A client error (bad filter) or the database's.
enum ApiError {
    Bad(String),
    NotFound,
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, error) = match self {
            ApiError::Bad(e) => (StatusCode::BAD_REQUEST, e),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not found".to_owned()),
            ApiError::Internal(e) => (StatusCode::INTERNAL_SERVER_ERROR, e),
        };
        (code, Json(serde_json::json!({ "error": error }))).into_response()
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// Runs a read on a blocking thread.
async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let reader = state.reader.clone();
    tokio::task::spawn_blocking(move || f(&reader.lock().unwrap()))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

fn limit(raw: Option<u32>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(100),
        Some(n @ 1..=1000) => Ok(n),
        Some(n) => Err(ApiError::Bad(format!("limit {n}: between 1 and 1000"))),
    }
}
