//! The request relay: finds the program a request is for, sends it to
//! the best node serving it, and on to the next one when a node fails,
//! unless a program may already have acted on it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use crate::api::error;
use crate::state::{Load, Shared, Target};

/// `/vm/<hash>/<rest>` or a live domain's any path → (program, path within it).
fn program_of(shared: &Shared, headers: &HeaderMap, path: &str) -> Option<(String, String)> {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            h.rsplit_once(':')
                .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
                .map_or(h, |(name, _)| name)
                .trim_end_matches('.')
                .to_ascii_lowercase()
        });
    if let Some(hash) = host.and_then(|h| shared.routes.read().unwrap().domains.get(&h).cloned()) {
        return Some((hash, path.trim_start_matches('/').to_owned()));
    }
    let rest = path.strip_prefix("/vm/")?;
    let (hash, within) = rest.split_once('/').unwrap_or((rest, ""));
    Some((hash.to_owned(), within.to_owned()))
}

pub(crate) async fn relay(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some((hash, within)) = program_of(&shared, &parts.headers, parts.uri.path()) else {
        return error(
            StatusCode::NOT_FOUND,
            "not a program path: use /vm/<item hash>/…".into(),
        );
    };
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return error(
            StatusCode::BAD_REQUEST,
            "a program is named by its 64-hex-digit item hash".into(),
        );
    }
    let body = match axum::body::to_bytes(body, shared.config.max_body).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("bodies are limited to {} bytes", shared.config.max_body),
            )
        }
    };
    let mut candidates = shared.candidates(&hash);
    // An answer that waited for a node to be asked says nothing of speed.
    let mut timed = true;
    if candidates.is_empty() {
        timed = false;
        candidates = match shared.place_now(&hash).await {
            Ok(list) => list,
            Err(why) => {
                shared.metrics.unserved.fetch_add(1, Ordering::Relaxed);
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("no node serves {hash} now, and none would start it: {why}"),
                );
            }
        };
    }
    forward(&shared, &parts, body, &hash, &within, candidates, timed).await
}

/// Sends the request to `candidates` in turn until one answers, or one
/// fails after a program may have acted on it.
async fn forward(
    shared: &Arc<Shared>,
    parts: &Parts,
    body: Bytes,
    hash: &str,
    within: &str,
    candidates: Vec<Target>,
    timed: bool,
) -> Response {
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let load = shared.load_of(hash);
    let requests = InFlight::raise(&load.requests);
    if requests.count() > candidates.len() * shared.config.scale_inflight.max(1) {
        shared.place_later(hash, "requests are queueing");
    }
    let started = Instant::now();
    let mut failures = Vec::new();
    for target in candidates {
        let url = format!("{}/vm/{hash}/{within}{query}", target.endpoint);
        // Lowered however the attempt ends, the client leaving mid-way
        // (this future dropped at the await) included.
        let busy = InFlight::raise(&shared.busy(&target.endpoint));
        let answer = try_once(shared, parts, &url, body.clone()).await;
        drop(busy);
        match answer {
            Ok(response) => {
                shared.metrics.relayed.fetch_add(1, Ordering::Relaxed);
                note_answer_time(shared, &load, hash, started, timed);
                return response;
            }
            Err(Failure {
                why,
                node_down,
                unseen,
            }) => {
                if node_down {
                    shared
                        .resting
                        .lock()
                        .unwrap()
                        .insert(target.endpoint.clone(), Instant::now() + shared.config.rest);
                }
                failures.push(format!("{}: {why}", target.endpoint));
                // Fewer nodes serve it now: a free slot may take another.
                shared.place_later(hash, "a node serving it failed");
                // A program may have acted on it: sent again, it would act
                // twice.
                if !unseen && !idempotent(&parts.method) {
                    tracing::warn!(node = %target.node, endpoint = %target.endpoint, %why, "node failed; not sent again");
                    shared.metrics.unserved.fetch_add(1, Ordering::Relaxed);
                    return error(
                        StatusCode::BAD_GATEWAY,
                        format!(
                            "the node serving {hash} failed, perhaps after the program got the request, which is not sent again ({} is not idempotent): {why}",
                            parts.method
                        ),
                    );
                }
                tracing::warn!(node = %target.node, endpoint = %target.endpoint, %why, "node failed; trying the next");
                shared.metrics.retries.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    shared.metrics.unserved.fetch_add(1, Ordering::Relaxed);
    error(
        StatusCode::BAD_GATEWAY,
        format!("every node serving {hash} failed: {}", failures.join("; ")),
    )
}

/// Counts an answer's time into the program's moving average; past
/// `scale_latency`, one more node is asked.
fn note_answer_time(shared: &Arc<Shared>, load: &Load, hash: &str, started: Instant, timed: bool) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let first = load.answers.fetch_add(1, Ordering::Relaxed) == 0;
    if timed && !first {
        let average = {
            let mut average = load.average_ms.lock().unwrap();
            *average = if *average == 0.0 {
                ms
            } else {
                *average * 0.8 + ms * 0.2
            };
            *average
        };
        if average > shared.config.scale_latency.as_secs_f64() * 1000.0 {
            shared.place_later(hash, "answers are slow");
        }
    }
}

/// One request counted in flight: raised when made, lowered when dropped,
/// however the request ends.
struct InFlight {
    counter: Arc<AtomicUsize>,
    count: usize,
}

impl InFlight {
    fn raise(counter: &Arc<AtomicUsize>) -> Self {
        let count = counter.fetch_add(1, Ordering::SeqCst) + 1;
        InFlight {
            counter: counter.clone(),
            count,
        }
    }

    /// The count, this request included, when it was raised.
    fn count(&self) -> usize {
        self.count
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Why a node gave no answer worth passing on.
struct Failure {
    why: String,
    /// The node itself failed (rest it), rather than only not serving
    /// this program any more.
    node_down: bool,
    /// No program saw the request (no connection, or the node's router
    /// refused it), so even a POST may go to another node.
    unseen: bool,
}

impl Failure {
    /// The node failed after the request may have reached a program.
    fn seen(why: String) -> Self {
        Failure {
            why,
            node_down: true,
            unseen: false,
        }
    }

    /// The node failed before any program saw the request.
    fn unseen(why: String) -> Self {
        Failure {
            why,
            node_down: true,
            unseen: true,
        }
    }
}

/// Methods that may be sent twice (RFC 9110's idempotent methods).
fn idempotent(method: &axum::http::Method) -> bool {
    use axum::http::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        Method::PUT,
        Method::DELETE,
    ]
    .contains(method)
}

/// One whole answer from one node, or why not.
async fn try_once(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    url: &str,
    body: Bytes,
) -> Result<Response, Failure> {
    let mut request = shared
        .http
        .request(parts.method.clone(), url)
        .timeout(shared.config.timeout)
        .body(body);
    for (name, value) in &parts.headers {
        if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.map_err(|e| {
        if e.is_connect() {
            Failure::unseen(e.to_string())
        } else {
            Failure::seen(e.to_string())
        }
    })?;
    let status = answer.status();
    // The node's router, not the program, answered (see
    // `HOST_ERROR_HEADER`): another node may do better.
    let host_error = answer
        .headers()
        .get(aether_sdk::vm::HOST_ERROR_HEADER)
        .and_then(|v| v.to_str().ok());
    let why = |code: &str| format!("HTTP {status} {code}");
    match (status, host_error) {
        // It no longer serves the program: no VM saw the request.
        (StatusCode::NOT_FOUND, Some(code @ "unknown_program")) => {
            return Err(Failure {
                why: why(code),
                node_down: false,
                unseen: true,
            })
        }
        // Stopping, or the VM did not boot: no VM saw the request either.
        (StatusCode::SERVICE_UNAVAILABLE, Some(code @ "stopping"))
        | (StatusCode::BAD_GATEWAY, Some(code @ "boot_failed")) => {
            return Err(Failure::unseen(why(code)))
        }
        // The VM died or hung while it had the request.
        (StatusCode::BAD_GATEWAY, Some(code)) => return Err(Failure::seen(why(code))),
        _ => {}
    }
    let headers = answer.headers().clone();
    let bytes = answer
        .bytes()
        .await
        .map_err(|e| Failure::seen(format!("answer cut short: {e}")))?;
    if bytes.len() > shared.config.max_body {
        return Err(Failure::seen("answer over the body limit".into()));
    }
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != axum::http::header::TRANSFER_ENCODING && name != axum::http::header::CONNECTION {
            response.headers_mut().insert(name, value.clone());
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Config;

    /// A client that leaves while its request waits on a node (the
    /// handler's future dropped at the await) leaves no count behind:
    /// otherwise the node would look busy for good and lose its turn.
    #[tokio::test]
    async fn a_client_leaving_mid_request_leaves_no_count_behind() {
        // A node that takes connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let hang = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let hash = "ab".repeat(32);
        let shared = Arc::new(Shared::new(Config::new(
            "http://127.0.0.1:9",
            "http://127.0.0.1:9",
        )));
        shared.routes.write().unwrap().programs.insert(
            hash.clone(),
            vec![Target {
                node: "node".into(),
                endpoint: endpoint.clone(),
                score: 0,
            }],
        );
        let request = Request::builder()
            .uri(format!("/vm/{hash}/"))
            .body(Body::empty())
            .unwrap();
        let client = tokio::spawn(relay(State(shared.clone()), request));
        let busy = shared.busy(&endpoint);
        let requests = shared.load_of(&hash).requests.clone();
        for _ in 0..500 {
            if busy.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(busy.load(Ordering::SeqCst), 1, "the request is at the node");
        assert_eq!(requests.load(Ordering::SeqCst), 1);
        client.abort();
        assert!(client.await.unwrap_err().is_cancelled());
        assert_eq!(busy.load(Ordering::SeqCst), 0, "the node's count came down");
        assert_eq!(requests.load(Ordering::SeqCst), 0, "the program's too");
        hang.abort();
    }
}
