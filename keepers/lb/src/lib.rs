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
//!
//! Placement: every provisioner announces itself (serving or not) with
//! the URL of its API. When no node serves a program, the request waits
//! while a random node of score at least `min_score` is asked to serve it
//! (`POST <provisioner>/serve/<hash>`: it joins the program's stream if it
//! pays enough and has a free slot) and then cold-starts it. When the
//! requests in flight for a program pass `scale_inflight` per serving
//! node, or its answers grow slower than `scale_latency`, or a node
//! serving it fails, one more node is asked in the background, at most
//! once per `place_cooldown`.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use aether_sdk::message::Content;
use aether_sdk::node_client::{MessageFilter, NodeClient};
use aether_sdk::programs::client::{AetherClient, ProgramClientError};
use aether_sdk::programs::registry;
use aether_sdk::registry_program::state::NodeKind;
use aether_sdk::vm::{Announcement, ServeAnswer, ANNOUNCEMENT_TYPE};
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
    /// Lowest score of a node asked to start a program.
    pub min_score: u16,
    /// Requests in flight per serving node past which one more is asked.
    pub scale_inflight: usize,
    /// Answer time (moving average) past which one more node is asked.
    pub scale_latency: Duration,
    /// Least time between two asks for one program.
    pub place_cooldown: Duration,
}

impl Config {
    /// Defaults: routes every 2 s, a failed node skipped for 10 s, 120 s
    /// answers, 64 MiB bodies; any node may be asked to start a program;
    /// one more node past 8 requests in flight per node or 5 s answers, at
    /// most every 30 s.
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
            min_score: 0,
            scale_inflight: 8,
            scale_latency: Duration::from_secs(5),
            place_cooldown: Duration::from_secs(30),
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

/// A node that announced itself, serving or not: one that may be asked
/// to serve a program.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Standby {
    /// Its registry record.
    pub node: String,
    /// Its vm-host URL.
    pub endpoint: String,
    /// Its provisioner's API.
    pub provisioner: String,
    /// Its score on chain.
    pub score: u16,
}

/// Counters shown on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Nodes that agreed to serve a program when asked.
    pub placements: AtomicU64,
    /// Asks no node agreed to.
    pub placement_failures: AtomicU64,
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
    standby: Vec<Standby>,
}

/// A program's traffic through this load balancer.
#[derive(Default)]
struct Load {
    /// Requests for the program in flight, over all its nodes.
    requests: Arc<AtomicUsize>,
    /// Moving average of answer times, ms (the first answer, often a
    /// boot, is left out).
    average_ms: Mutex<f64>,
    answers: AtomicU64,
}

/// Why no node could be placed for a program.
#[derive(Clone, Debug, thiserror::Error)]
enum PlaceError {
    /// Nobody to ask: announcements not read yet, or no node offers.
    #[error("no other node offers to serve")]
    NoStandby,
    /// The nodes asked said no, or did not answer: what each said.
    #[error("{0}")]
    Refused(String),
}

/// Failed asks remembered at most (the oldest go first past it).
const MAX_ASKED: usize = 10_000;

/// How long a provisioner may take to say whether it serves a program.
const SERVE_TIMEOUT: Duration = Duration::from_secs(30);

/// A provisioner's API URL as announced, if it is a plain
/// `http(s)://host[:port]`: nothing else is ever requested.
fn provisioner_url(announced: &str) -> Option<String> {
    let url = announced.trim_end_matches('/');
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let plain = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    plain.then(|| url.to_owned())
}

/// How long a node that agreed to serve is routed to before its own
/// announcement is read.
const PLACED_FOR: Duration = Duration::from_secs(60);

struct Shared {
    config: Config,
    routes: RwLock<Routes>,
    /// Nodes that agreed to serve a program, until their announcement shows.
    placed: Mutex<HashMap<String, Vec<(Target, Instant)>>>,
    /// The last ask per program, and why it failed.
    asked: Mutex<HashMap<String, (Instant, Option<PlaceError>)>>,
    /// One synchronous ask at a time per program.
    placing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    load: Mutex<HashMap<String, Arc<Load>>>,
    /// Requests in flight per node endpoint, whatever the program.
    busy: Mutex<HashMap<String, Arc<AtomicUsize>>>,
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
    fn new(config: Config) -> Self {
        Shared {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a plain HTTP client builds"),
            config,
            routes: RwLock::default(),
            placed: Mutex::default(),
            asked: Mutex::default(),
            placing: Mutex::default(),
            load: Mutex::default(),
            busy: Mutex::default(),
            resting: Mutex::default(),
            turn: AtomicUsize::new(0),
            metrics: Metrics::default(),
        }
    }

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
            content_types: vec![ANNOUNCEMENT_TYPE.into()],
            ..Default::default()
        };
        // Newest first: the first announcement of a node is its latest.
        let page = node
            .messages(&filter, 1, 500)
            .await
            .map_err(|e| LbError::Node(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        let mut programs: HashMap<String, Vec<Target>> = HashMap::new();
        let mut standby = Vec::new();
        for message in page.messages {
            let Ok(Content::Post(post)) = message.content() else {
                continue;
            };
            let Some(announced) = post
                .content
                .and_then(|body| serde_json::from_value::<Announcement>(body).ok())
            else {
                continue;
            };
            let (record, endpoint) = (announced.node.clone(), announced.endpoint().to_owned());
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
            if let Some(provisioner) = announced.provisioner.as_deref().and_then(provisioner_url) {
                standby.push(Standby {
                    node: record.clone(),
                    endpoint: endpoint.clone(),
                    provisioner,
                    score: registered.score,
                });
            }
            for hash in announced.programs {
                programs.entry(hash).or_default().push(Target {
                    node: record.clone(),
                    endpoint: endpoint.clone(),
                    score: registered.score,
                });
            }
        }
        let domains = registry::live_domains(bindings.into_iter().map(|(_, b)| b))
            .into_iter()
            .map(|(domain, target)| (domain, hex::encode(target)))
            .collect();
        *self.routes.write().unwrap() = Routes {
            programs,
            domains,
            standby,
        };
        Ok(())
    }

    /// Every node serving `program`: announced, or placed a moment ago.
    fn serving(&self, program: &str) -> Vec<Target> {
        let mut targets = self
            .routes
            .read()
            .unwrap()
            .programs
            .get(program)
            .cloned()
            .unwrap_or_default();
        let mut placed = self.placed.lock().unwrap();
        if let Some(list) = placed.get_mut(program) {
            list.retain(|(_, at)| at.elapsed() < PLACED_FOR);
            for (target, _) in list.iter() {
                if !targets.iter().any(|t| t.node == target.node) {
                    targets.push(target.clone());
                }
            }
        }
        targets
    }

    /// Asks nodes that do not serve `program`, in random order, to serve
    /// it, until one agrees.
    async fn place(&self, program: &str) -> Result<Target, PlaceError> {
        let serving: Vec<String> = self.serving(program).into_iter().map(|t| t.node).collect();
        let now = Instant::now();
        let mut standby: Vec<Standby> = {
            let resting = self.resting.lock().unwrap();
            self.routes
                .read()
                .unwrap()
                .standby
                .iter()
                .filter(|s| {
                    !serving.contains(&s.node)
                        && s.score >= self.config.min_score
                        && resting.get(&s.endpoint).is_none_or(|until| *until <= now)
                })
                .cloned()
                .collect()
        };
        if standby.is_empty() {
            return Err(PlaceError::NoStandby);
        }
        let turn = self.turn.fetch_add(1, Ordering::Relaxed) % standby.len();
        standby.rotate_left(turn);
        let mut why = Vec::new();
        for node in standby.iter().take(3) {
            let url = format!("{}/serve/{program}", node.provisioner);
            let answer = self
                .http
                .post(&url)
                .timeout(SERVE_TIMEOUT.min(self.config.timeout))
                .send()
                .await;
            match answer {
                Ok(r) if r.status().is_success() => {
                    let endpoint = match r.json::<ServeAnswer>().await {
                        Ok(ServeAnswer::Serving { endpoint, .. }) => {
                            endpoint.trim_end_matches('/').to_owned()
                        }
                        _ => node.endpoint.clone(),
                    };
                    let target = Target {
                        node: node.node.clone(),
                        endpoint,
                        score: node.score,
                    };
                    self.placed
                        .lock()
                        .unwrap()
                        .entry(program.to_owned())
                        .or_default()
                        .push((target.clone(), Instant::now()));
                    self.metrics.placements.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(%program, node = %node.node, "a node agreed to serve");
                    return Ok(target);
                }
                Ok(r) => {
                    let status = r.status();
                    let error = match r.json::<ServeAnswer>().await {
                        Ok(ServeAnswer::Refused { error }) => error,
                        _ => "refused".to_owned(),
                    };
                    why.push(format!("{}: {error} ({status})", node.node));
                }
                Err(e) => why.push(format!("{}: {e}", node.node)),
            }
        }
        self.metrics
            .placement_failures
            .fetch_add(1, Ordering::Relaxed);
        Err(PlaceError::Refused(why.join("; ")))
    }

    /// Asks one more node to serve `program`, in the background, unless
    /// one was asked within the cooldown.
    fn place_later(self: &Arc<Self>, program: &str, reason: &'static str) {
        {
            let mut asked = self.asked.lock().unwrap();
            if asked
                .get(program)
                .is_some_and(|(at, _)| at.elapsed() < self.config.place_cooldown)
            {
                return;
            }
            if asked.len() >= MAX_ASKED {
                let cooldown = self.config.place_cooldown;
                asked.retain(|_, (at, _)| at.elapsed() < cooldown);
            }
            asked.insert(program.to_owned(), (Instant::now(), None));
        }
        let (shared, program) = (self.clone(), program.to_owned());
        tokio::spawn(async move {
            tracing::info!(%program, reason, "asking one more node to serve");
            if let Err(why) = shared.place(&program).await {
                tracing::info!(%program, %why, "no other node will serve now");
                shared
                    .asked
                    .lock()
                    .unwrap()
                    .insert(program, (Instant::now(), Some(why)));
            }
        });
    }

    /// A node for a program no node serves: one asked now (unless an ask
    /// failed within the cooldown).
    async fn place_now(&self, program: &str) -> Result<Vec<Target>, PlaceError> {
        let lock = self
            .placing
            .lock()
            .unwrap()
            .entry(program.to_owned())
            .or_default()
            .clone();
        let placed = {
            let _one = lock.lock().await;
            self.place_once(program).await
        };
        // The lock goes with its last user: random names leave nothing.
        let mut placing = self.placing.lock().unwrap();
        if placing
            .get(program)
            .is_some_and(|l| Arc::strong_count(l) <= 2)
        {
            placing.remove(program);
        }
        placed
    }

    async fn place_once(&self, program: &str) -> Result<Vec<Target>, PlaceError> {
        let serving = self.candidates(program);
        if !serving.is_empty() {
            return Ok(serving);
        }
        // A refusal answers the next requests for a few seconds, not for
        // the whole cooldown: a stream opened meanwhile is soon seen.
        let memory = self.config.place_cooldown.min(Duration::from_secs(5));
        if let Some((at, Some(why))) = self.asked.lock().unwrap().get(program) {
            if at.elapsed() < memory {
                return Err(why.clone());
            }
        }
        let placed = self.place(program).await;
        // A refusal is remembered for the cooldown; having no node to ask
        // yet (announcements not read) is not.
        let failure = placed
            .as_ref()
            .err()
            .filter(|why| !matches!(why, PlaceError::NoStandby))
            .cloned();
        let mut asked = self.asked.lock().unwrap();
        if asked.len() >= MAX_ASKED {
            let cooldown = self.config.place_cooldown;
            asked.retain(|_, (at, _)| at.elapsed() < cooldown);
        }
        if failure.is_some() || placed.is_ok() {
            asked.insert(program.to_owned(), (Instant::now(), failure));
        }
        drop(asked);
        placed.map(|t| vec![t])
    }

    fn load_of(&self, program: &str) -> Arc<Load> {
        self.load
            .lock()
            .unwrap()
            .entry(program.to_owned())
            .or_default()
            .clone()
    }

    /// The nodes to try for `program`, best first: not resting, least
    /// busy, then best scored.
    fn candidates(&self, program: &str) -> Vec<Target> {
        let mut targets = self.serving(program);
        let now = Instant::now();
        let resting = self.resting.lock().unwrap();
        targets.retain(|t| resting.get(&t.endpoint).is_none_or(|until| *until <= now));
        drop(resting);
        if !targets.is_empty() {
            let turn = self.turn.fetch_add(1, Ordering::Relaxed) % targets.len();
            targets.rotate_left(turn);
        }
        let in_flight = self.busy.lock().unwrap();
        let busy = |t: &Target| {
            in_flight
                .get(&t.endpoint)
                .map_or(0, |n| n.load(Ordering::SeqCst))
        };
        // Stable: equally busy, equally scored nodes keep their turn.
        targets.sort_by(|a, b| busy(a).cmp(&busy(b)).then(b.score.cmp(&a.score)));
        targets
    }

    /// The count of requests in flight to `endpoint`.
    fn busy(&self, endpoint: &str) -> Arc<AtomicUsize> {
        self.busy
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
    let load = shared.load_of(&hash);
    let requests = InFlight::raise(&load.requests);
    if requests.count() > candidates.len() * shared.config.scale_inflight.max(1) {
        shared.place_later(&hash, "requests are queueing");
    }
    let started = Instant::now();
    let mut failures = Vec::new();
    for target in candidates {
        let url = format!("{}/vm/{hash}/{within}{query}", target.endpoint);
        // Lowered however the attempt ends, the client leaving mid-way
        // (this future dropped at the await) included.
        let busy = InFlight::raise(&shared.busy(&target.endpoint));
        let answer = try_once(&shared, &parts, &url, body.clone()).await;
        drop(busy);
        match answer {
            Ok(response) => {
                shared.metrics.relayed.fetch_add(1, Ordering::Relaxed);
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
                        shared.place_later(&hash, "answers are slow");
                    }
                }
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
                shared.place_later(&hash, "a node serving it failed");
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
        ("aether_lb_placements_total", "counter", &m.placements),
        (
            "aether_lb_placement_failures_total",
            "counter",
            &m.placement_failures,
        ),
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
        let shared = Arc::new(Shared::new(config));
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
        self.shared.serving(program)
    }

    /// The nodes that may be asked to serve a program.
    pub fn standby(&self) -> Vec<Standby> {
        self.shared.routes.read().unwrap().standby.clone()
    }

    /// Stops serving.
    pub async fn stop(self) {
        self.daemon.stop().await;
    }
}

/// Runs a load balancer until `shutdown` resolves; `on_ready` sees it started.
pub async fn run(
    config: Config,
    on_ready: impl FnOnce(&LoadBalancer),
    shutdown: impl Future<Output = ()>,
) -> Result<(), LbError> {
    let start = LoadBalancer::start(config);
    aether_keeper::run(
        "load balancer",
        start,
        on_ready,
        shutdown,
        LoadBalancer::stop,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn only_plain_provisioner_urls_are_asked() {
        assert_eq!(
            provisioner_url("http://127.0.0.1:4034/").as_deref(),
            Some("http://127.0.0.1:4034")
        );
        assert!(provisioner_url("https://[::1]:4034").is_some());
        for bad in [
            "file:///etc/passwd",
            "http://",
            "http://a.test/admin?x=1",
            "http://user@a.test",
            "gopher://a.test",
        ] {
            assert_eq!(provisioner_url(bad), None, "{bad}");
        }
    }
}
