//! Aether's load balancer (`aether lb`): routes `/vm/<item hash>/…`, and
//! requests for live custom domains, to the resource nodes that announce
//! they serve the program. It holds no state of its own: routes come from
//! the `aether-serving` announcements on the core node (an announcement
//! counts only when its sender owns the node record it names), scores from
//! the registry, domains from their live bindings on chain.
//!
//! Each request goes to the least busy announcing node, best score first
//! among equals. A node that fails (no connection, or an answer cut short)
//! rests for a while and the request goes to the next one; answers are
//! read whole before they are sent on, so a client never sees a partial
//! answer. Any number of load balancers can run side by side.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use aether_sdk::message::Content;
use aether_sdk::node_client::{MessageFilter, NodeClient};
use aether_sdk::programs::client::{AetherClient, ProgramClientError};
use aether_sdk::registry_program::state::{DomainStatus, NodeKind};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};

/// Port of the load balancer unless configured.
pub const DEFAULT_PORT: u16 = 4040;

/// Everything the load balancer needs; [`Config::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// The core node whose announcements say who serves what.
    pub node_url: String,
    /// JSON-RPC URL of the cluster: node records, scores, domains.
    pub rpc_url: String,
    /// Address to listen on.
    pub bind: IpAddr,
    /// Port; 0 picks one.
    pub port: u16,
    /// How often routes are read again.
    pub refresh: Duration,
    /// How long a failed node is skipped.
    pub rest: Duration,
    /// How long a node may take to answer.
    pub timeout: Duration,
    /// Largest request or answer body relayed.
    pub max_body: usize,
}

impl Config {
    /// Defaults: routes every 2 s, a failed node skipped for 10 s, 120 s
    /// answers, 64 MiB bodies.
    pub fn new(node_url: impl Into<String>, rpc_url: impl Into<String>) -> Config {
        Config {
            node_url: node_url.into(),
            rpc_url: rpc_url.into(),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            refresh: Duration::from_secs(2),
            rest: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
            max_body: 64 * 1024 * 1024,
        }
    }
}

/// Why the load balancer could not start or refresh its routes.
#[derive(Debug, thiserror::Error)]
pub enum LbError {
    /// The listening socket.
    #[error("binding {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// The chain.
    #[error(transparent)]
    Chain(#[from] ProgramClientError),
    /// The core node.
    #[error("core node: {0}")]
    Node(String),
    /// A worker task ended abnormally.
    #[error(transparent)]
    Task(#[from] aether_keeper::TaskFailed),
}

/// One node that serves a program.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Target {
    /// Its registry record.
    pub node: String,
    /// Its vm-host URL, as it announced.
    pub endpoint: String,
    /// Its score on chain.
    pub score: u16,
}

/// Counters shown on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Route refreshes done, and failed.
    pub refreshes: AtomicU64,
    /// Refreshes that failed.
    pub refresh_errors: AtomicU64,
    /// Requests answered by a node.
    pub relayed: AtomicU64,
    /// Tries that failed and went to the next node.
    pub retries: AtomicU64,
    /// Requests no node could answer.
    pub unserved: AtomicU64,
    /// Announcements ignored: the sender does not own the node.
    pub forged: AtomicU64,
}

#[derive(Default)]
struct Routes {
    programs: HashMap<String, Vec<Target>>,
    domains: HashMap<String, String>,
}

struct Shared {
    config: Config,
    routes: RwLock<Routes>,
    inflight: Mutex<HashMap<String, Arc<AtomicUsize>>>,
    resting: Mutex<HashMap<String, Instant>>,
    /// Turns the order among equally good nodes, request after request.
    turn: AtomicUsize,
    http: reqwest::Client,
    metrics: Metrics,
}

/// A running load balancer.
pub struct LoadBalancer {
    daemon: aether_keeper::Daemon,
    shared: Arc<Shared>,
}

impl Shared {
    /// Reads announcements, records, scores and live domains again.
    async fn refresh(&self, client: &Arc<AetherClient>) -> Result<(), LbError> {
        let client = client.clone();
        let (records, bindings) = aether_keeper::blocking(move || {
            Ok::<_, LbError>((client.node_records()?, client.domain_bindings()?))
        })
        .await?;
        let records: HashMap<String, _> = records
            .into_iter()
            .filter(|(_, r)| r.kind == NodeKind::Resource)
            .map(|(k, r)| (k.to_string(), r))
            .collect();
        let node = NodeClient::new(self.config.node_url.clone());
        let filter = MessageFilter {
            content_types: vec!["aether-serving".into()],
            ..Default::default()
        };
        // Newest first: the first announcement of a node is its latest.
        let page = node
            .messages(&filter, 1, 500)
            .await
            .map_err(|e| LbError::Node(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        let mut programs: HashMap<String, Vec<Target>> = HashMap::new();
        for message in page.messages {
            let Ok(Content::Post(post)) = message.content() else {
                continue;
            };
            let Some(body) = post.content else { continue };
            let (Some(record), Some(endpoint)) = (
                body["node"].as_str().map(str::to_owned),
                body["endpoint"].as_str().map(str::to_owned),
            ) else {
                continue;
            };
            let Some(registered) = records.get(&record) else {
                continue;
            };
            if registered.owner.to_string() != message.sender {
                self.metrics.forged.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if !seen.insert(record.clone()) {
                continue;
            }
            for program in body["programs"].as_array().into_iter().flatten() {
                if let Some(hash) = program.as_str() {
                    programs.entry(hash.to_owned()).or_default().push(Target {
                        node: record.clone(),
                        endpoint: endpoint.trim_end_matches('/').to_owned(),
                        score: registered.score,
                    });
                }
            }
        }
        let domains = bindings
            .into_iter()
            .filter(|(_, b)| b.status == DomainStatus::Live)
            .map(|(_, b)| (b.domain, hex::encode(b.target)))
            .collect();
        *self.routes.write().unwrap() = Routes { programs, domains };
        Ok(())
    }

    /// The nodes to try for `program`, best first: not resting, least
    /// busy, then best scored.
    fn candidates(&self, program: &str) -> Vec<Target> {
        let mut targets = self
            .routes
            .read()
            .unwrap()
            .programs
            .get(program)
            .cloned()
            .unwrap_or_default();
        let now = Instant::now();
        let resting = self.resting.lock().unwrap();
        targets.retain(|t| resting.get(&t.endpoint).is_none_or(|until| *until <= now));
        drop(resting);
        if !targets.is_empty() {
            let turn = self.turn.fetch_add(1, Ordering::Relaxed) % targets.len();
            targets.rotate_left(turn);
        }
        let inflight = self.inflight.lock().unwrap();
        let busy = |t: &Target| {
            inflight
                .get(&t.endpoint)
                .map_or(0, |n| n.load(Ordering::SeqCst))
        };
        // Stable: equally busy, equally scored nodes keep their turn.
        targets.sort_by(|a, b| busy(a).cmp(&busy(b)).then(b.score.cmp(&a.score)));
        targets
    }

    fn counter(&self, endpoint: &str) -> Arc<AtomicUsize> {
        self.inflight
            .lock()
            .unwrap()
            .entry(endpoint.to_owned())
            .or_default()
            .clone()
    }
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

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

async fn relay(State(shared): State<Arc<Shared>>, request: Request) -> Response {
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
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let candidates = shared.candidates(&hash);
    if candidates.is_empty() {
        shared.metrics.unserved.fetch_add(1, Ordering::Relaxed);
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("no node serves {hash} now"),
        );
    }
    let mut failures = Vec::new();
    for target in candidates {
        let url = format!("{}/vm/{hash}/{within}{query}", target.endpoint);
        let counter = shared.counter(&target.endpoint);
        counter.fetch_add(1, Ordering::SeqCst);
        let answer = try_once(&shared, &parts, &url, body.clone()).await;
        counter.fetch_sub(1, Ordering::SeqCst);
        match answer {
            Ok(response) => {
                shared.metrics.relayed.fetch_add(1, Ordering::Relaxed);
                return response;
            }
            Err(why) => {
                tracing::warn!(node = %target.node, endpoint = %target.endpoint, %why, "node failed; trying the next");
                shared.metrics.retries.fetch_add(1, Ordering::Relaxed);
                shared
                    .resting
                    .lock()
                    .unwrap()
                    .insert(target.endpoint.clone(), Instant::now() + shared.config.rest);
                failures.push(format!("{}: {why}", target.endpoint));
            }
        }
    }
    shared.metrics.unserved.fetch_add(1, Ordering::Relaxed);
    error(
        StatusCode::BAD_GATEWAY,
        format!("every node serving {hash} failed: {}", failures.join("; ")),
    )
}

/// One whole answer from one node, or why not.
async fn try_once(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    url: &str,
    body: Bytes,
) -> Result<Response, String> {
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
    let answer = request.send().await.map_err(|e| e.to_string())?;
    let status = answer.status();
    // A node whose VM died answers 502 from its router: another may do better.
    if status == StatusCode::BAD_GATEWAY {
        return Err(format!("HTTP {status}"));
    }
    let headers = answer.headers().clone();
    let bytes = answer
        .bytes()
        .await
        .map_err(|e| format!("answer cut short: {e}"))?;
    if bytes.len() > shared.config.max_body {
        return Err("answer over the body limit".into());
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

async fn routes(State(shared): State<Arc<Shared>>) -> Json<HashMap<String, Vec<Target>>> {
    Json(shared.routes.read().unwrap().programs.clone())
}

async fn metrics_text(State(shared): State<Arc<Shared>>) -> String {
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
    ])
}

impl LoadBalancer {
    /// Binds and starts reading routes.
    pub async fn start(config: Config) -> Result<LoadBalancer, LbError> {
        let addr = SocketAddr::new(config.bind, config.port);
        // Reads only: any key will do to build the program client.
        let client = Arc::new(AetherClient::new(
            &config.rpc_url,
            solana_keypair::Keypair::new(),
        ));
        let shared = Arc::new(Shared {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a plain HTTP client builds"),
            config,
            routes: RwLock::default(),
            inflight: Mutex::default(),
            resting: Mutex::default(),
            turn: AtomicUsize::new(0),
            metrics: Metrics::default(),
        });
        let app = Router::new()
            .route("/about/routes", get(routes))
            .route("/metrics", get(metrics_text))
            .fallback(any(relay))
            .with_state(shared.clone());
        let mut daemon = aether_keeper::Daemon::serve(addr, app)
            .await
            .map_err(|e| LbError::Bind(addr, e))?;
        let stopped = daemon.stopped();
        let refresher = shared.clone();
        daemon.spawn(async move {
            let m = &refresher.metrics;
            aether_keeper::rounds(
                "lb",
                refresher.config.refresh,
                (&m.refreshes, &m.refresh_errors),
                stopped,
                || refresher.refresh(&client),
            )
            .await
        });
        tracing::info!(addr = %daemon.addr(), "load balancer started");
        Ok(LoadBalancer { daemon, shared })
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        self.daemon.url()
    }

    /// Its counters.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// The nodes serving `program` now.
    pub fn targets(&self, program: &str) -> Vec<Target> {
        self.shared
            .routes
            .read()
            .unwrap()
            .programs
            .get(program)
            .cloned()
            .unwrap_or_default()
    }

    /// Stops serving.
    pub async fn stop(self) {
        self.daemon.stop().await;
    }
}

/// Runs a load balancer until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), LbError> {
    let lb = LoadBalancer::start(config).await?;
    shutdown.await;
    lb.stop().await;
    Ok(())
}
