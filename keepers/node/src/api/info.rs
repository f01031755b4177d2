//! What the node is (`/api/v0/info/public.json`) and its counters
//! (`/metrics`).

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::AppState;

pub(super) async fn info() -> Json<Value> {
    Json(json!({
        "node": "aether-node",
        "version": env!("CARGO_PKG_VERSION"),
        "api": "aleph-v0",
    }))
}

pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    let stored = state
        .readers
        .with(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM messages WHERE status = 'processed'",
                [],
                |r| r.get::<_, i64>(0),
            )?)
        })
        .await
        .unwrap_or(-1);
    let text = format!(
        "# TYPE aether_node_messages_total counter\n\
         aether_node_messages_total{{outcome=\"processed\"}} {}\n\
         aether_node_messages_total{{outcome=\"pending\"}} {}\n\
         aether_node_messages_total{{outcome=\"refused\"}} {}\n\
         # TYPE aether_node_files_total counter\n\
         aether_node_files_total {}\n\
         # TYPE aether_node_file_bytes_total counter\n\
         aether_node_file_bytes_total {}\n\
         # TYPE aether_node_messages_stored gauge\n\
         aether_node_messages_stored {}\n",
        m.processed.load(Ordering::Relaxed),
        m.pending.load(Ordering::Relaxed),
        m.refused.load(Ordering::Relaxed),
        m.files.load(Ordering::Relaxed),
        m.file_bytes.load(Ordering::Relaxed),
        stored,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
