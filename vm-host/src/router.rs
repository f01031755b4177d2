//! The HTTP front: `/vm/{item_hash}/{path}` (any method) reaches the
//! program's VM; `/about/usage` lists the running VMs. Errors are JSON,
//! `{"error": {"code", "message"}}`, as on the core node.

use std::sync::Arc;

use aether_vm_protocol::Head;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use bytes::Bytes;
use futures_util::StreamExt;
use percent_encoding::percent_decode_str;
use serde_json::json;
use tracing::Instrument;

use crate::agent;
use crate::supervisor::{InflightGuard, Instance, Supervisor, SupervisorError};

/// Live custom domains and the program each serves (item hash).
pub type Domains = Arc<std::sync::RwLock<std::collections::HashMap<String, String>>>;

/// The router's state.
#[derive(Clone)]
pub struct RouterState {
    /// The VMs.
    pub supervisor: Arc<Supervisor>,
    /// Requests whose `Host` is one of these go to its program.
    pub domains: Domains,
    /// Open ACME HTTP-01 challenges: token → key authorization.
    pub challenges: crate::acme::Challenges,
    /// Largest request body relayed, in bytes.
    pub max_body: usize,
    /// How long an answer may take to start.
    pub request_timeout: std::time::Duration,
    /// vCPUs the host offers its VMs (see [`crate::capacity::offered_vcpus`]).
    pub vcpus: u64,
}

/// The routes.
pub fn routes(state: RouterState) -> Router {
    Router::new()
        .route("/vm/{hash}", any(vm_root))
        .route("/vm/{hash}/", any(vm_root))
        .route("/vm/{hash}/{*path}", any(vm_path))
        .route("/about/usage", get(usage))
        .route("/.well-known/acme-challenge/{token}", get(acme_challenge))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            by_domain,
        ))
        .with_state(state)
}

/// The host name a request was sent to, lowercased, without the port.
fn host_of(request: &Request) -> Option<String> {
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().host())?;
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    Some(name.trim_end_matches('.').to_ascii_lowercase())
}

/// A request for a live custom domain goes to its program, whatever the
/// path; the CA's challenge path stays with the host.
async fn by_domain(
    State(state): State<RouterState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let bound = host_of(&request).and_then(|host| {
        state
            .domains
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&host)
            .cloned()
    });
    match bound {
        Some(hash)
            if !request
                .uri()
                .path()
                .starts_with("/.well-known/acme-challenge/") =>
        {
            let path = request.uri().path().trim_start_matches('/').to_owned();
            relay(state, hash, path, request).await
        }
        _ => next.run(request).await,
    }
}

async fn acme_challenge(State(state): State<RouterState>, Path(token): Path<String>) -> Response {
    match state
        .challenges
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(&token)
    {
        Some(answer) => answer.clone().into_response(),
        None => error(StatusCode::NOT_FOUND, "no_challenge", "no such challenge"),
    }
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let mut response = (
        status,
        Json(json!({ "error": { "code": code, "message": message.into() } })),
    )
        .into_response();
    // Marks the answer as the router's own, not the program's.
    if let Ok(value) = HeaderValue::from_str(code) {
        response
            .headers_mut()
            .insert(aether_sdk::vm::HOST_ERROR_HEADER, value);
    }
    response
}

/// A `MemTotal:`-style line of `/proc/meminfo`, in MiB.
pub fn meminfo_mib(meminfo: &str, key: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib / 1024)
}

async fn usage(State(state): State<RouterState>) -> Response {
    let (backend, acceleration) = state.supervisor.backend();
    let vms = state.supervisor.usage();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    // What the host offers, and what its VMs hold now: checkers compare
    // it with the capacity the node registered.
    Json(json!({
        "backend": backend,
        "acceleration": acceleration,
        "capacity": {
            "vcpus": state.vcpus,
            // The vCPUs above are offered on these cores.
            "cores": crate::capacity::host_cores(),
            "memory_mib": meminfo_mib(&meminfo, "MemTotal:"),
            "memory_available_mib": meminfo_mib(&meminfo, "MemAvailable:"),
        },
        "in_use": {
            "vcpus": vms.iter().map(|v| u64::from(v.vcpus)).sum::<u64>(),
            "memory_mib": vms.iter().map(|v| u64::from(v.memory_mib)).sum::<u64>(),
        },
        "vms": vms,
    }))
    .into_response()
}

async fn vm_root(
    State(state): State<RouterState>,
    Path(hash): Path<String>,
    request: Request,
) -> Response {
    relay(state, hash, String::new(), request).await
}

async fn vm_path(
    State(state): State<RouterState>,
    Path((hash, path)): Path<(String, String)>,
    request: Request,
) -> Response {
    relay(state, hash, path, request).await
}

async fn relay(state: RouterState, hash: String, path: String, request: Request) -> Response {
    let span = tracing::info_span!("request", program = %hash, method = %request.method());
    relay_in_span(state, hash, path, request)
        .instrument(span)
        .await
}

async fn relay_in_span(
    state: RouterState,
    hash: String,
    path: String,
    request: Request,
) -> Response {
    match relay_steps(&state, &hash, &path, request).await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(),
    }
}

/// An answer the router gives in the program's stead (see [`error`]).
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.status, self.code, self.message)
    }
}

async fn relay_steps(
    state: &RouterState,
    hash: &str,
    path: &str,
    request: Request,
) -> Result<Response, Refusal> {
    check_target(hash, path)?;
    let (head, body) = read_request(state, path, request).await?;
    let instance = instance_for(state, hash).await?;
    let (response, guard) = ask(state, &instance, &head, body).await?;
    Ok(answer(response, guard))
}

/// Refuses a program name that is not an item hash, and a path that
/// leaves the program.
fn check_target(hash: &str, path: &str) -> Result<(), Refusal> {
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "bad_hash",
            "the program is named by its 64-hex-digit item hash",
        ));
    }
    // The path stays inside the program: no `..` segment, however encoded.
    if path.split('/').any(|segment| {
        percent_decode_str(segment).decode_utf8_lossy() == ".." || segment.contains('\\')
    }) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "bad_path",
            "the path may not climb out of the program with `..`",
        ));
    }
    Ok(())
}

/// The request as the guest gets it: its head (aimed at `/path`, with the
/// length of the body read whole) and its body.
async fn read_request(
    state: &RouterState,
    path: &str,
    request: Request,
) -> Result<(Head, Bytes), Refusal> {
    let (parts, body) = request.into_parts();
    let target = match parts.uri.query() {
        Some(q) => format!("/{path}?{q}"),
        None => format!("/{path}"),
    };
    let body = match axum::body::to_bytes(body, state.max_body).await {
        Ok(body) => body,
        Err(_) => {
            return Err(Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("request bodies are limited to {} bytes", state.max_body),
            ))
        }
    };
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(name, _)| *name != "content-length" && *name != "transfer-encoding")
        .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_string())))
        .collect();
    headers.push(("content-length".into(), body.len().to_string()));
    let head = Head {
        line: format!("{} {target}", parts.method),
        headers,
    };
    Ok((head, body))
}

/// A VM serving the program `hash` (booted if none is warm).
async fn instance_for(state: &RouterState, hash: &str) -> Result<Arc<Instance>, Refusal> {
    match state.supervisor.instance(hash).await {
        Ok(i) => Ok(i),
        Err(e @ SupervisorError::UnknownProgram(_)) => Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "unknown_program",
            e.to_string(),
        )),
        Err(e @ SupervisorError::Stopping) => Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopping",
            e.to_string(),
        )),
        Err(e) => Err(Refusal::new(
            StatusCode::BAD_GATEWAY,
            "boot_failed",
            e.to_string(),
        )),
    }
}

/// Hands the request to `instance` and waits for the head of its answer;
/// a VM that gives none in time is stopped. The guard counts the request
/// as in flight until its answer is sent.
async fn ask(
    state: &RouterState,
    instance: &Arc<Instance>,
    head: &Head,
    body: Bytes,
) -> Result<(agent::Response, InflightGuard), Refusal> {
    let guard = instance.begin();
    let limit = state.request_timeout;
    match tokio::time::timeout(limit, instance.link.request(head, body)).await {
        Ok(Ok(r)) => Ok((r, guard)),
        Ok(Err(e)) => Err(Refusal::new(
            StatusCode::BAD_GATEWAY,
            "vm_failed",
            e.to_string(),
        )),
        Err(_) => {
            tracing::warn!(vm = %instance.name, "no answer within {limit:?}; stopping the VM");
            drop(guard);
            state.supervisor.retire(instance).await;
            Err(Refusal::new(
                StatusCode::BAD_GATEWAY,
                "vm_unresponsive",
                format!("the VM gave no answer within {limit:?} and was stopped"),
            ))
        }
    }
}

/// The program's answer as the client gets it, its body streamed.
fn answer(response: agent::Response, guard: InflightGuard) -> Response {
    let status = response
        .head
        .line
        .parse::<u16>()
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let mut builder = Response::builder().status(status);
    // Only the router speaks for the node: a program cannot pass its
    // answer off as one (a load balancer would send the request elsewhere).
    let own = response
        .head
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case(aether_sdk::vm::HOST_ERROR_HEADER));
    for (name, value) in own {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            builder = builder.header(n, v);
        }
    }
    // The body streams as it comes; the guard lives until it is sent.
    let stream = tokio_stream_from(response.body).map(move |chunk| {
        let _keep = &guard;
        chunk.map_err(std::io::Error::other)
    });
    builder
        .body(Body::from_stream(stream))
        .unwrap_or_else(|e| error(StatusCode::BAD_GATEWAY, "bad_response", e.to_string()))
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> impl futures_util::Stream<Item = T> + Send {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
