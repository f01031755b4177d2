//! The WebSocket of messages (`/api/ws0/messages`): recent history, then
//! each processed message that matches its filter, as it commits.

use std::collections::HashMap;

use axum::extract::ws::{Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use tokio::sync::broadcast;

use super::query::{filter_of, number_param};
use super::{ApiError, AppState};
use crate::store::{self, Filter};

pub(super) async fn stream(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    held: Option<axum::Extension<aether_keeper::ConnectionHeld>>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let filter = filter_of(&q)?;
    let history = number_param(&q, "history")?
        .unwrap_or(10.0)
        .clamp(0.0, 200.0) as u64;
    Ok(upgrade.on_upgrade(move |socket| async move {
        // The stream counts as its connection until it ends.
        let _held = held;
        serve_stream(state, filter, history, socket).await
    }))
}

/// How long a subscriber may take to accept one frame before it is
/// dropped: one that stops reading would otherwise hold its stream (and
/// the node's stop) forever.
const STREAM_SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends `frame`; false when the subscriber is gone or too slow.
async fn send_frame(socket: &mut WebSocket, frame: Frame) -> bool {
    matches!(
        tokio::time::timeout(STREAM_SEND_TIMEOUT, socket.send(frame)).await,
        Ok(Ok(()))
    )
}

async fn serve_stream(state: AppState, filter: Filter, history: u64, mut socket: WebSocket) {
    // Subscribe before reading history, so nothing falls in between.
    let mut live = state.live.subscribe();
    let mut stopping = state.stopping.clone();
    if history > 0 {
        let mut past = filter.clone();
        past.ascending = false;
        let rows = state
            .readers
            .with(move |c| store::list_messages(c, &past, 1, history))
            .await
            .map(|(rows, _)| rows)
            .unwrap_or_default();
        for record in rows.into_iter().rev() {
            if !send_frame(&mut socket, Frame::Text(record.to_string().into())).await {
                return;
            }
        }
    }
    loop {
        tokio::select! {
            received = live.recv() => match received {
                Ok(p) if filter.matches(&p.message, &p.content) => {
                    let mut record = serde_json::to_value(&p.message).unwrap_or_default();
                    record["content"] = p.content.clone();
                    if !send_frame(&mut socket, Frame::Text(record.to_string().into())).await {
                        return;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "a slow subscriber missed messages");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = stopping.changed() => {
                send_frame(&mut socket, Frame::Close(None)).await;
                return;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Frame::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            },
        }
    }
}
