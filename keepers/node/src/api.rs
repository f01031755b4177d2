//! The HTTP API, compatible with the Aleph core node API v0.
//!
//! Every error is `{"error": {"code": <stable code>, "message": <for a
//! person>, "field": <when a field is at fault>}}` with a 4xx or 5xx status.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aether_sdk::message::{Message, MessageError};
use aether_sdk::node_client::MessageStatus;
use axum::body::Body;
use axum::extract::ws::{Message as Frame, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::files::{ContentStore, FileError};
use crate::process::Outcome;
use crate::store::{self, Filter, Readers};
use crate::writer::{Processed, Writer};

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
        .route("/api/v0/storage/add_file", post(add_file_storage))
        .route("/api/v0/ipfs/add_file", post(add_file_ipfs))
        .route("/api/v0/storage/add_json", post(add_json))
        .route("/api/v0/ipfs/add_json", post(add_json))
        // Uploads stream to disk under their own limit.
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .route("/api/v0/messages", post(post_message))
        .route("/api/v0/messages.json", get(list_messages))
        .route("/api/v0/messages/{hash}", get(get_message))
        .route("/api/v0/messages/{hash}/status", get(get_status))
        .route("/api/v0/messages/{hash}/proof", get(get_proof))
        .route("/api/v0/aggregates/{file}", get(aggregates))
        .route("/api/v0/posts.json", get(posts))
        .route("/api/v0/storage/raw/{hash}", get(raw))
        .route("/api/ws0/messages", get(stream))
        .route("/api/v0/info/public.json", get(info))
        .route("/metrics", get(metrics))
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

async fn post_message(
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
    let mut turn = None;
    if let (Some(charging), Some(content)) = (&state.charging, &content) {
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

fn list_param(q: &HashMap<String, String>, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| q.get(*n))
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn number_param(q: &HashMap<String, String>, name: &str) -> Result<Option<f64>, ApiError> {
    q.get(name)
        .map(|v| {
            v.parse::<f64>().map_err(|_| ApiError {
                field: Some(name.to_string()),
                ..ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_query",
                    format!("{name} must be a number"),
                )
            })
        })
        .transpose()
}

fn filter_of(q: &HashMap<String, String>) -> Result<Filter, ApiError> {
    Ok(Filter {
        addresses: list_param(q, &["addresses"]),
        channels: list_param(q, &["channels"]),
        types: list_param(q, &["msgTypes", "msgType"]),
        hashes: list_param(q, &["hashes"]),
        refs: list_param(q, &["refs"]),
        content_types: list_param(q, &["contentTypes", "types"]),
        content_keys: list_param(q, &["contentKeys"]),
        chains: list_param(q, &["chains"]),
        statuses: list_param(q, &["msgStatuses", "message_statuses"]),
        start: number_param(q, "startDate")?.filter(|t| *t > 0.0),
        end: number_param(q, "endDate")?.filter(|t| *t > 0.0),
        ascending: q.get("sortOrder").map(String::as_str) == Some("1"),
    })
}

/// Most items one page of a listing holds (`pagination=0`, "no limit" in
/// Aleph's API, means this many too), so that no request makes the node
/// read and send its whole database.
pub const MAX_PER_PAGE: u64 = 10_000;

/// A whole number query parameter, at least 1 (or 0 where `zero_ok`), that
/// fits SQLite's 64-bit integers: `inf`, `1e300` or a fraction is a 400.
fn count_param(
    q: &HashMap<String, String>,
    name: &str,
    zero_ok: bool,
) -> Result<Option<u64>, ApiError> {
    let Some(value) = number_param(q, name)? else {
        return Ok(None);
    };
    let least = if zero_ok { 0.0 } else { 1.0 };
    // i64::MAX as f64 rounds up to 2^63, so `<` keeps it out.
    if value.fract() != 0.0 || value < least || value >= i64::MAX as f64 {
        return Err(ApiError {
            field: Some(name.to_string()),
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("{name} must be a whole number from {least} to 2^63"),
            )
        });
    }
    Ok(Some(value as u64))
}

fn page_of(q: &HashMap<String, String>) -> Result<(u64, u64), ApiError> {
    let per_page = match count_param(q, "pagination", true)?.unwrap_or(20) {
        0 => MAX_PER_PAGE,
        n => n.min(MAX_PER_PAGE),
    };
    let page = count_param(q, "page", false)?.unwrap_or(1);
    // The offset must fit SQLite's integers too.
    if (page - 1)
        .checked_mul(per_page)
        .is_none_or(|o| o > i64::MAX as u64)
    {
        return Err(ApiError {
            field: Some("page".into()),
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_query",
                format!("page {page} is beyond any listing at {per_page} per page"),
            )
        });
    }
    Ok((page, per_page))
}

async fn list_messages(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let filter = filter_of(&q)?;
    let (page, per_page) = page_of(&q)?;
    let (messages, total) = state
        .readers
        .with(move |c| store::list_messages(c, &filter, page, per_page))
        .await?;
    Ok(Json(json!({
        "messages": messages,
        "pagination_page": page,
        "pagination_per_page": per_page,
        "pagination_total": total,
        "pagination_item": "messages",
    })))
}

/// The message stored under `hash`, or a 404 naming it.
async fn stored_or_404(state: &AppState, hash: &str) -> Result<store::Stored, ApiError> {
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

async fn get_message(
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

async fn get_status(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let stored = stored_or_404(&state, &hash).await?;
    Ok(Json(
        json!({"status": stored.status, "item_hash": hash, "reception_time": stored.reception_time}),
    ))
}

async fn get_proof(
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

async fn aggregates(
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

async fn posts(
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

async fn add_json(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    if body.len() as u64 > state.max_file_size {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "over the size limit",
        ));
    }
    serde_json::from_slice::<Value>(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("the body is not JSON: {e}"),
        )
    })?;
    let written = state
        .files
        .put(&body, state.max_file_size)
        .await
        .map_err(file_error)?;
    let hash = written.sha256.clone();
    record_file(&state, written).await?;
    Ok(Json(json!({"status": "success", "hash": hash})))
}

fn file_error(e: FileError) -> ApiError {
    match e {
        FileError::TooLarge { limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the file is larger than this node's limit of {limit} bytes"),
        ),
        FileError::Body(m) => ApiError::new(StatusCode::BAD_REQUEST, "bad_upload", m),
        FileError::Io(e) => ApiError::internal(e),
    }
}

async fn record_file(state: &AppState, written: crate::files::Written) -> Result<(), ApiError> {
    state.metrics.files.fetch_add(1, Ordering::Relaxed);
    state
        .metrics
        .file_bytes
        .fetch_add(written.size, Ordering::Relaxed);
    state.writer.file(written).await.map_err(ApiError::internal)
}

async fn add_file_storage(state: State<AppState>, form: Multipart) -> Result<Response, ApiError> {
    add_file(state, form, false).await
}

async fn add_file_ipfs(state: State<AppState>, form: Multipart) -> Result<Response, ApiError> {
    add_file(state, form, true).await
}

async fn add_file(
    State(state): State<AppState>,
    mut form: Multipart,
    ipfs: bool,
) -> Result<Response, ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_upload",
            format!("not a valid multipart body: {e}"),
        )
    };
    let mut written = None;
    let mut metadata: Option<Value> = None;
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name() {
            Some("file") => {
                let mut incoming = state
                    .files
                    .incoming(state.max_file_size)
                    .await
                    .map_err(file_error)?;
                let chunks = futures_util::StreamExt::map(field, |chunk| {
                    chunk.map_err(|e| format!("not a valid multipart body: {e}"))
                });
                incoming.write_stream(chunks).await.map_err(file_error)?;
                written = Some(incoming.finish(&state.files).await.map_err(file_error)?);
            }
            Some("metadata") => {
                let text = field.text().await.map_err(bad)?;
                metadata = Some(serde_json::from_str(&text).map_err(|e| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_json",
                        format!("metadata is not JSON: {e}"),
                    )
                })?);
            }
            _ => {}
        }
    }
    let written = written.ok_or_else(|| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_upload", "no part named file")
    })?;
    let hash = if ipfs {
        written.cid_v0.clone()
    } else {
        written.sha256.clone()
    };
    record_file(&state, written).await?;
    let body = json!({"status": "success", "hash": hash});
    // With a signed STORE message alongside, process it too.
    if let Some(message) = metadata.as_ref().and_then(|m| m.get("message")) {
        let message = Message::from_value(message).and_then(|m| m.verify().map(|()| m))?;
        let content = Some(message.content()?);
        let outcome = state
            .writer
            .submit(message, content)
            .await
            .map_err(ApiError::internal)?;
        let mut response = outcome_response(outcome, &state.metrics);
        // The answer is the file's; the status is the message's.
        *response.body_mut() = Body::from(body.to_string());
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        response.headers_mut().remove(header::CONTENT_LENGTH);
        return Ok(response);
    }
    Ok(Json(body).into_response())
}

async fn raw(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let key = hash.clone();
    let row = state
        .readers
        .with(move |c| store::find_file(c, &key))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no file {hash}"),
            )
        })?;
    let file = tokio::fs::File::open(state.files.path(&row.sha256))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no file {hash}"),
            )
        })?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
        file,
        256 * 1024,
    ));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, row.size.to_string()),
        ],
        body,
    )
        .into_response())
}

async fn stream(
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

async fn info() -> Json<Value> {
    Json(json!({
        "node": "aether-node",
        "version": env!("CARGO_PKG_VERSION"),
        "api": "aleph-v0",
    }))
}

async fn metrics(State(state): State<AppState>) -> Response {
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
