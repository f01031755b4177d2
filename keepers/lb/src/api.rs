//! The small routes (`/about/routes`, `/metrics`) and the JSON error
//! answer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::state::{Shared, Target};

pub(crate) fn error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

pub(crate) async fn routes(
    State(shared): State<Arc<Shared>>,
) -> Json<HashMap<String, Vec<Target>>> {
    Json(shared.routes.read().unwrap().programs.clone())
}

pub(crate) async fn metrics_text(State(shared): State<Arc<Shared>>) -> String {
    let m = &shared.metrics;
    aether_keeper::metrics_text(&[
        ("aether_lb_refreshes_total", "counter", &m.refreshes),
        (
            "aether_lb_refresh_errors_total",
            "counter",
            &m.refresh_errors,
        ),
        ("aether_lb_relayed_total", "counter", &m.relayed),
        ("aether_lb_retries_total", "counter", &m.retries),
        ("aether_lb_unserved_total", "counter", &m.unserved),
        ("aether_lb_forged_announcements_total", "counter", &m.forged),
        ("aether_lb_placements_total", "counter", &m.placements),
        (
            "aether_lb_placement_failures_total",
            "counter",
            &m.placement_failures,
        ),
    ])
}
