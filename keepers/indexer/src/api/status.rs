//! `/status` and `/metrics`: how far the indexer is, and its counters.

use std::sync::atomic::Ordering;

use aether_sdk::indexer_client::{IndexerEndpoint, IndexerStatus};
use axum::extract::State;
use axum::Json;

use super::{read, ApiError, AppState};

fn status_of(state: &AppState, events: u64) -> IndexerStatus {
    IndexerStatus {
        head_slot: state.metrics.head_slot.load(Ordering::Relaxed),
        synced_slot: state.metrics.synced_slot.load(Ordering::Relaxed),
        lag_slots: state.metrics.lag(),
        events,
        endpoints: state
            .endpoints
            .all()
            .iter()
            .map(|e| IndexerEndpoint {
                url: e.url.clone(),
                resting: e.is_resting(),
            })
            .collect(),
    }
}

pub(super) async fn status(State(state): State<AppState>) -> Result<Json<IndexerStatus>, ApiError> {
    let events = read(&state, |c| {
        Ok(c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get::<_, i64>(0))?)
    })
    .await?;
    Ok(Json(status_of(&state, events as u64)))
}

pub(super) async fn metrics(State(state): State<AppState>) -> String {
    let m = &state.metrics;
    let resting = state
        .endpoints
        .all()
        .iter()
        .filter(|e| e.is_resting())
        .count();
    format!(
        "# TYPE aether_indexer_events_total counter\n\
         aether_indexer_events_total {}\n\
         # TYPE aether_indexer_transactions_total counter\n\
         aether_indexer_transactions_total {}\n\
         # TYPE aether_indexer_scans_total counter\n\
         aether_indexer_scans_total {}\n\
         # TYPE aether_indexer_scan_errors_total counter\n\
         aether_indexer_scan_errors_total {}\n\
         # TYPE aether_indexer_notifications_total counter\n\
         aether_indexer_notifications_total {}\n\
         # TYPE aether_indexer_head_slot gauge\n\
         aether_indexer_head_slot {}\n\
         # TYPE aether_indexer_synced_slot gauge\n\
         aether_indexer_synced_slot {}\n\
         # TYPE aether_indexer_lag_slots gauge\n\
         aether_indexer_lag_slots {}\n\
         # TYPE aether_indexer_endpoints_resting gauge\n\
         aether_indexer_endpoints_resting {}\n",
        m.events.load(Ordering::Relaxed),
        m.transactions.load(Ordering::Relaxed),
        m.scans.load(Ordering::Relaxed),
        m.scan_errors.load(Ordering::Relaxed),
        m.notifications.load(Ordering::Relaxed),
        m.head_slot.load(Ordering::Relaxed),
        m.synced_slot.load(Ordering::Relaxed),
        m.lag(),
        resting,
    )
}
