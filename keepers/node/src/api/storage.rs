//! Files: uploads (`add_file`, `add_json`, on the storage and IPFS paths)
//! and downloads (`/api/v0/storage/raw/{hash}`).

use std::sync::atomic::Ordering;

use aether_sdk::message::Message;
use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{outcome_response, ApiError, AppState};
use crate::files::FileError;
use crate::store;

pub(super) async fn add_json(
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

pub(super) async fn add_file_storage(
    state: State<AppState>,
    form: Multipart,
) -> Result<Response, ApiError> {
    add_file(state, form, false).await
}

pub(super) async fn add_file_ipfs(
    state: State<AppState>,
    form: Multipart,
) -> Result<Response, ApiError> {
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

pub(super) async fn raw(
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
