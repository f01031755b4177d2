//! Aether's provisioner, on a resource node: watches the PROGRAM and
//! INSTANCE messages of its core node and the streams that pay for them; joins a stream when
//! its share of the rate meets this node's minimum price and the node has
//! room; then has vm-host fetch the code volume (by content id, cached)
//! and serve the program at `/vm/<item hash>/`. It announces what it serves
//! with a POST of type `aether-serving`, so routers can find it.
//!
//! Each round derives everything from the chain and the core node: a
//! newer code volume (an amended STORE, with `use_latest`) is served in
//! place of the old (running VMs finish their requests), and a program
//! whose stream is exhausted or closed, or that was forgotten, stops and
//! its volume is freed. A restart converges to the same set. Custom
//! domains that core nodes made live for a program served here are handed
//! to vm-host, which routes them and obtains their certificates by ACME.
//!
//! An INSTANCE is served the same way, except that its VM runs from the
//! moment it is provisioned, requests or not, from its own root file
//! system (see [`spec`]).
//!
//! A load balancer may ask for a program with `POST /serve/<item hash>`
//! (a cold start, more capacity, or a replacement for a node that died):
//! the provisioner then runs a round at once and joins that program's
//! stream if it is worth joining and there is room, even when it runs
//! `on_demand` (joining nothing unasked). It announces its own URL, so
//! load balancers know whom to ask.
//!
//! Layout: `spec.rs` maps a PROGRAM or INSTANCE to what vm-host runs; this file the
//! loop and the HTTP API (`/metrics`, `/serving`).

pub mod plan;
pub mod spec;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::escrow_program::state::Stream;
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{MessageBuilder, PostBuilder};
use aether_sdk::node_client::{MessageFilter, MessageStatus, NodeClient};
use aether_sdk::programs::client::{AetherClient, ProgramClientError};
use aether_sdk::programs::registry;
use aether_sdk::registry_program::state::NodeRecord;
use aether_sdk::vm::{Announcement, ServeAnswer, ANNOUNCEMENT_TYPE};
use aether_vm_host::{Host, ProgramEntry};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use plan::Refusal;
use spec::Wanted;

/// Everything the provisioner needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The core node's base URL: PROGRAM and STORE messages, files, and
    /// where announcements go.
    pub node_url: String,
    /// JSON-RPC URL of the cluster.
    pub rpc_url: String,
    /// The resource node owner's keypair: joins streams, signs announcements.
    pub keypair: PathBuf,
    /// The resource node's identity key (its registry record's seed).
    pub identity: Pubkey,
    /// The vm-host this provisioner drives (started with it).
    pub host: aether_vm_host::Config,
    /// Time between rounds.
    pub interval: Duration,
    /// Where code volumes built for programs are kept.
    pub work_dir: PathBuf,
    /// Channel of the announcements.
    pub channel: String,
    /// Join streams only when a load balancer asks (`POST /serve/<hash>`),
    /// not on every round that finds one worth joining.
    pub on_demand: bool,
}

impl Config {
    /// Defaults: a round every 10 s, announcements on channel `aether-serving`.
    pub fn new(
        node_url: impl Into<String>,
        rpc_url: impl Into<String>,
        keypair: impl Into<PathBuf>,
        identity: Pubkey,
        host: aether_vm_host::Config,
    ) -> Self {
        let work_dir = host.data_dir.join("programs");
        Config {
            node_url: node_url.into(),
            rpc_url: rpc_url.into(),
            keypair: keypair.into(),
            identity,
            host,
            interval: Duration::from_secs(10),
            work_dir,
            channel: "aether-serving".into(),
            on_demand: false,
        }
    }
}

/// Why the provisioner could not start or a round failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionerError {
    /// The owner's keypair file.
    #[error("reading the keypair {0}: {1}")]
    Keypair(String, String),
    /// vm-host did not start.
    #[error("starting vm-host: {0}")]
    Host(String),
    /// A file or directory.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// Reading or sending to the cluster.
    #[error(transparent)]
    Chain(#[from] ProgramClientError),
    /// The resource node is not registered.
    #[error("no resource node is registered with identity {0}")]
    NotRegistered(Pubkey),
    /// The core node did not answer.
    #[error("core node: {0}")]
    Node(String),
    /// A worker task ended abnormally.
    #[error(transparent)]
    Task(#[from] aether_keeper::TaskFailed),
}

/// Counters shown on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Rounds done.
    pub rounds: AtomicU64,
    /// Rounds that failed.
    pub round_errors: AtomicU64,
    /// Streams joined.
    pub joined: AtomicU64,
    /// Programs started (or updated) on vm-host.
    pub started: AtomicU64,
    /// Programs stopped.
    pub stopped: AtomicU64,
    /// Announcements posted.
    pub announcements: AtomicU64,
    /// Programs served now.
    pub serving: AtomicU64,
}

/// A program served here, and the volume it was built from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Served {
    /// The PROGRAM's item hash.
    pub program: String,
    /// The code file's content id.
    pub code_file: String,
    /// The stream that pays for it.
    pub stream: String,
    /// vCPUs and memory (MiB) it may use.
    pub vcpus: u32,
    /// Memory, MiB.
    pub memory_mib: u32,
}

/// A running provisioner and its vm-host.
pub struct Provisioner {
    config: Config,
    host_url: String,
    daemon: aether_keeper::Daemon,
    metrics: Arc<Metrics>,
    serving: Arc<Mutex<BTreeMap<String, Served>>>,
    host: Arc<tokio::sync::Mutex<Option<Host>>>,
}

struct Worker {
    config: Config,
    client: Arc<AetherClient>,
    account: SolanaAccount,
    node: NodeClient,
    record: Pubkey,
    host: Arc<tokio::sync::Mutex<Option<Host>>>,
    serving: Arc<Mutex<BTreeMap<String, Served>>>,
    announced: Mutex<Option<Vec<String>>>,
    metrics: Arc<Metrics>,
    /// This provisioner's API, named in announcements.
    api_url: String,
    /// Why each program was not served in the last round.
    refusals: Mutex<BTreeMap<String, Refusal>>,
    /// One round at a time (the loop's, or one a request started).
    round_lock: tokio::sync::Mutex<()>,
}

/// Blocking work with this crate's error type (so call sites need no
/// annotation).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ProvisionerError> + Send + 'static,
) -> Result<T, ProvisionerError> {
    aether_keeper::blocking(f).await
}

impl Worker {
    /// Every PROGRAM and INSTANCE the core node holds, processed and not
    /// forgotten.
    async fn programs(
        &self,
    ) -> Result<BTreeMap<String, aether_sdk::message::Message>, ProvisionerError> {
        let filter = MessageFilter {
            types: vec!["PROGRAM".into(), "INSTANCE".into()],
            ..Default::default()
        };
        let mut out = BTreeMap::new();
        for page in 1.. {
            let got = self
                .node
                .messages(&filter, page, 200)
                .await
                .map_err(|e| ProvisionerError::Node(e.to_string()))?;
            let n = got.messages.len();
            for m in got.messages {
                out.insert(m.item_hash.clone(), m);
            }
            if n < 200 {
                break;
            }
        }
        Ok(out)
    }

    async fn round(&self) -> Result<(), ProvisionerError> {
        self.round_asking(None).await
    }

    /// A round; `asked` is a program a load balancer asks for, which this
    /// round may join even `on_demand`.
    async fn round_asking(&self, asked: Option<&str>) -> Result<(), ProvisionerError> {
        let _one = self.round_lock.lock().await;
        let asked: std::collections::BTreeSet<String> =
            asked.into_iter().map(str::to_owned).collect();
        let mut refusals = BTreeMap::new();
        let result = self.round_inner(&asked, &mut refusals).await;
        for hash in &asked {
            if !refusals.contains_key(hash) && !self.serving.lock().unwrap().contains_key(hash) {
                refusals.insert(hash.clone(), Refusal::NoStream);
            }
        }
        *self.refusals.lock().unwrap() = refusals;
        result
    }

    async fn round_inner(
        &self,
        asked: &std::collections::BTreeSet<String>,
        refusals: &mut BTreeMap<String, Refusal>,
    ) -> Result<(), ProvisionerError> {
        let client = self.client.clone();
        let identity = self.config.identity;
        let (record, streams) = blocking(move || {
            let record = client
                .node_record(&identity)?
                .ok_or(ProvisionerError::NotRegistered(identity))?;
            Ok((record, client.streams()?))
        })
        .await?;
        let programs = self.programs().await?;
        let paying =
            plan::paying_streams(streams, |hash| programs.contains_key(hash), &self.record);
        let mut want: BTreeMap<String, (Wanted, Pubkey)> = BTreeMap::new();
        // Served programs the core node could not be read about this
        // round: kept as they are, never stopped for a passing error.
        let mut keep = std::collections::BTreeSet::new();
        let mut used = plan::Used::default();
        for (hash, (key, stream)) in &paying {
            if stream.exhausted {
                refusals.insert(hash.clone(), Refusal::Exhausted);
                continue;
            }
            let message = &programs[hash];
            let status = self.node.message(hash).await.map(|m| m.status);
            if matches!(
                status,
                Ok(MessageStatus::Forgotten | MessageStatus::Removed | MessageStatus::Removing)
            ) {
                refusals.insert(hash.clone(), Refusal::Forgotten);
                continue;
            }
            let content = match spec::content(&self.node, message).await {
                Ok(content) => content,
                Err(e) => {
                    tracing::warn!(program = %hash, error = %e, "unreadable message");
                    if matches!(e, spec::SpecError::Node { .. }) {
                        keep.insert(hash.clone());
                    }
                    continue;
                }
            };
            let wanted = match spec::wanted_for(&self.node, hash, &content).await {
                None => continue,
                Some(Ok(w)) => w,
                Some(Err(e)) => {
                    tracing::warn!(program = %hash, error = %e, "cannot serve");
                    if matches!(e, spec::SpecError::Node { .. }) {
                        keep.insert(hash.clone());
                    }
                    refusals.insert(hash.clone(), Refusal::Unservable(e.to_string()));
                    continue;
                }
            };
            let mine = stream.providers.iter().any(|p| p.record == self.record);
            if !mine {
                if self.config.on_demand && !asked.contains(hash) {
                    refusals.insert(hash.clone(), Refusal::NotAsked);
                    continue;
                }
                if !used.fits(&wanted, &record.capacity) {
                    refusals.insert(hash.clone(), Refusal::NoRoom);
                    continue;
                }
                if !self.worth_joining(stream, &record) {
                    refusals.insert(hash.clone(), Refusal::NotWorthJoining);
                    continue;
                }
                let client = self.client.clone();
                let (identity, stream_key) = (self.config.identity, *key);
                match blocking(move || Ok(client.join_stream(&identity, &stream_key)?)).await {
                    Ok(signature) => {
                        tracing::info!(program = %hash, stream = %key, %signature, "joined stream");
                        self.metrics.joined.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        // Another provider may have taken the last slot.
                        tracing::warn!(program = %hash, error = %e, "could not join");
                        refusals.insert(hash.clone(), Refusal::JoinFailed(e.to_string()));
                        continue;
                    }
                }
            }
            used = used.with(&wanted);
            want.insert(hash.clone(), (wanted, *key));
        }
        self.converge(want, &keep).await?;
        self.bind_domains().await?;
        self.announce().await;
        Ok(())
    }

    /// Live custom domains of the programs served here go to vm-host,
    /// which routes them and gets their certificates.
    async fn bind_domains(&self) -> Result<(), ProvisionerError> {
        let client = self.client.clone();
        let bindings = blocking(move || Ok(client.domain_bindings()?)).await?;
        let serving = self.serving.lock().unwrap().clone();
        let domains: std::collections::HashMap<String, String> =
            aether_sdk::programs::registry::live_domains(bindings.into_iter().map(|(_, b)| b))
                .into_iter()
                .map(|(domain, target)| (domain, hex::encode(target)))
                .filter(|(_, target)| serving.contains_key(target))
                .collect();
        if let Some(host) = self.host.lock().await.as_ref() {
            host.set_domains(domains);
        }
        Ok(())
    }

    /// The stream pays this node's price for one more slot, has a free
    /// slot, and admits it (by name, or by its serve policy).
    fn worth_joining(&self, stream: &Stream, record: &NodeRecord) -> bool {
        let n = stream.providers.len();
        n < usize::from(stream.replicas)
            && stream.admits(&self.record, record)
            && stream.pays_at_least(
                stream.share(n as u64 + 1),
                record.min_price_compute_per_second,
            )
    }

    /// Makes vm-host serve exactly `want`.
    async fn converge(
        &self,
        want: BTreeMap<String, (Wanted, Pubkey)>,
        keep: &std::collections::BTreeSet<String>,
    ) -> Result<(), ProvisionerError> {
        let current = self.serving.lock().unwrap().clone();
        let guard = self.host.lock().await;
        let Some(host) = guard.as_ref() else {
            return Ok(());
        };
        for (hash, served) in &current {
            if !want.contains_key(hash) && !keep.contains(hash) {
                // Unpaid: its VMs stop and its kept volumes go.
                host.supervisor().discard(hash).await;
                let _ = std::fs::remove_file(self.volume_path(hash, &served.code_file));
                self.serving.lock().unwrap().remove(hash);
                self.metrics.stopped.fetch_add(1, Ordering::Relaxed);
                tracing::info!(program = %hash, "stopped serving");
            }
        }
        for (hash, (wanted, stream)) in want {
            let same = current
                .get(&hash)
                .is_some_and(|s| s.code_file == wanted.code_file);
            if same {
                continue;
            }
            let span = tracing::info_span!("provision", program = %hash);
            let _enter = span.enter();
            let file = match host.volume(&self.config.node_url, &wanted.code_file).await {
                Ok(file) => file,
                Err(e) => {
                    tracing::warn!(error = %e, "code volume not fetched");
                    continue;
                }
            };
            let entry = ProgramEntry {
                item_hash: format!("{hash}-{}", short(&wanted.code_file)),
                code: file,
                entrypoint: wanted.entrypoint.clone(),
                port: spec::PORT,
                memory_mib: wanted.memory_mib,
                vcpus: wanted.vcpus,
                env: wanted.env.clone(),
                scratch_mib: wanted.scratch_mib,
                persistent_mib: wanted.persistent_mib,
                grants: match (wanted.node_api, self.node_addr().await) {
                    (true, Some(node)) => vec![format!("{}={node}", spec::NODE_API_GUEST)],
                    (true, None) => {
                        tracing::warn!(node = %self.config.node_url, "the core node's address does not resolve: no API access");
                        Vec::new()
                    }
                    (false, _) => Vec::new(),
                },
                rootfs_mib: wanted.rootfs_mib,
            };
            std::fs::create_dir_all(&self.config.work_dir)
                .map_err(|e| ProvisionerError::Io(self.config.work_dir.display().to_string(), e))?;
            let spec = match entry.into_spec(&self.config.work_dir) {
                Ok(spec) => spec,
                Err(e) => {
                    tracing::warn!(error = %e, "code volume unusable");
                    continue;
                }
            };
            // A new spec replaces the old: running VMs finish, new requests
            // boot it; an instance boots now.
            host.supervisor().register(&hash, spec);
            host.supervisor().keep_up();
            if let Some(old) = current.get(&hash) {
                let _ = std::fs::remove_file(self.volume_path(&hash, &old.code_file));
            }
            self.serving.lock().unwrap().insert(
                hash.clone(),
                Served {
                    program: hash.clone(),
                    code_file: wanted.code_file.clone(),
                    stream: stream.to_string(),
                    vcpus: wanted.vcpus,
                    memory_mib: wanted.memory_mib,
                },
            );
            self.metrics.started.fetch_add(1, Ordering::Relaxed);
            tracing::info!(code = %wanted.code_file, "serving");
        }
        self.metrics
            .serving
            .store(self.serving.lock().unwrap().len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// The core node's socket address, for VMs granted its API.
    async fn node_addr(&self) -> Option<SocketAddr> {
        let url = self.config.node_url.trim_end_matches('/');
        let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
        let authority = rest.split('/').next().unwrap_or(rest);
        // A port is what follows the last colon, unless that colon is
        // inside an IPv6 literal's brackets.
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.contains(']'));
        let with_port = if has_port {
            authority.to_owned()
        } else {
            let port = if scheme == "https" { 443 } else { 80 };
            format!("{authority}:{port}")
        };
        tokio::net::lookup_host(with_port).await.ok()?.next()
    }

    fn volume_path(&self, hash: &str, code_file: &str) -> PathBuf {
        self.config
            .work_dir
            .join(format!("{hash}-{}.ext4", short(code_file)))
    }

    /// Posts what this node serves when it changed since the last post.
    async fn announce(&self) {
        let programs: Vec<String> = self.serving.lock().unwrap().keys().cloned().collect();
        if self.announced.lock().unwrap().as_ref() == Some(&programs) {
            return;
        }
        let announcement = Announcement {
            node: self.record.to_string(),
            identity: Some(self.config.identity.to_string()),
            endpoint: self.host_url().await,
            provisioner: Some(self.api_url.clone()),
            programs: programs.clone(),
        };
        let content = serde_json::to_value(&announcement).expect("an announcement serializes");
        let built = MessageBuilder::new(&self.account)
            .channel(self.config.channel.clone())
            .build(PostBuilder::new(ANNOUNCEMENT_TYPE).content(content));
        let sent = match built {
            Ok(signed) => self
                .node
                .post_message(&signed, false)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match sent {
            Ok(_) => {
                self.metrics.announcements.fetch_add(1, Ordering::Relaxed);
                *self.announced.lock().unwrap() = Some(programs);
            }
            Err(e) => tracing::warn!(error = %e, "announcement not posted"),
        }
    }

    /// Serves `hash` now if this node can: a round that may join its
    /// stream; vm-host's URL, or why not.
    async fn serve_now(&self, hash: &str) -> Result<String, ServeRefusal> {
        if !self.serving.lock().unwrap().contains_key(hash) {
            self.round_asking(Some(hash))
                .await
                .map_err(|e| ServeRefusal::Unavailable(e.to_string()))?;
        }
        if self.serving.lock().unwrap().contains_key(hash) {
            return Ok(self.host_url().await);
        }
        Err(ServeRefusal::Refused(
            self.refusals
                .lock()
                .unwrap()
                .get(hash)
                .map_or_else(|| "not served here".into(), Refusal::to_string),
        ))
    }

    async fn host_url(&self) -> String {
        self.host
            .lock()
            .await
            .as_ref()
            .map(|h| h.url())
            .unwrap_or_default()
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(16)]
}

#[derive(Clone)]
struct ApiState {
    serving: Arc<Mutex<BTreeMap<String, Served>>>,
    metrics: Arc<Metrics>,
    worker: Arc<std::sync::OnceLock<Arc<Worker>>>,
}

/// Why `/serve` did not serve.
enum ServeRefusal {
    /// This node will not (409).
    Refused(String),
    /// The round failed: the chain or the core node (503, try later).
    Unavailable(String),
}

/// `POST /serve/<hash>`: a load balancer asks this node to serve a program.
async fn serve(
    State(state): State<ApiState>,
    axum::extract::Path(hash): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let answer = |status: StatusCode, body: ServeAnswer| (status, Json(body)).into_response();
    let refused = |error: &str| ServeAnswer::Refused {
        error: error.to_owned(),
    };
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return answer(
            StatusCode::BAD_REQUEST,
            refused("a program is named by its 64-hex-digit item hash"),
        );
    }
    let Some(worker) = state.worker.get().cloned() else {
        return answer(StatusCode::SERVICE_UNAVAILABLE, refused("starting"));
    };
    match worker.serve_now(&hash.to_ascii_lowercase()).await {
        Ok(endpoint) => answer(
            StatusCode::OK,
            ServeAnswer::Serving {
                program: hash,
                endpoint,
            },
        ),
        Err(ServeRefusal::Refused(why)) => answer(StatusCode::CONFLICT, refused(&why)),
        Err(ServeRefusal::Unavailable(why)) => {
            answer(StatusCode::SERVICE_UNAVAILABLE, refused(&why))
        }
    }
}

async fn serving_list(State(state): State<ApiState>) -> Json<Vec<Served>> {
    Json(state.serving.lock().unwrap().values().cloned().collect())
}

async fn metrics_text(State(state): State<ApiState>) -> String {
    let m = &state.metrics;
    aether_keeper::metrics_text(&[
        ("aether_provisioner_rounds_total", "counter", &m.rounds),
        (
            "aether_provisioner_round_errors_total",
            "counter",
            &m.round_errors,
        ),
        ("aether_provisioner_joined_total", "counter", &m.joined),
        ("aether_provisioner_started_total", "counter", &m.started),
        ("aether_provisioner_stopped_total", "counter", &m.stopped),
        (
            "aether_provisioner_announcements_total",
            "counter",
            &m.announcements,
        ),
        ("aether_provisioner_serving", "gauge", &m.serving),
    ])
}

impl Provisioner {
    /// Starts vm-host, binds the API on `api` and starts provisioning.
    pub async fn start(config: Config, api: SocketAddr) -> Result<Provisioner, ProvisionerError> {
        let keypair = solana_keypair::read_keypair_file(&config.keypair).map_err(|e| {
            ProvisionerError::Keypair(config.keypair.display().to_string(), e.to_string())
        })?;
        let account = SolanaAccount::from_keypair_file(&config.keypair).map_err(|e| {
            ProvisionerError::Keypair(config.keypair.display().to_string(), e.to_string())
        })?;
        let host = Host::start(config.host.clone())
            .await
            .map_err(|e| ProvisionerError::Host(e.to_string()))?;
        let host_url = host.url();
        let host = Arc::new(tokio::sync::Mutex::new(Some(host)));
        let metrics = Arc::new(Metrics::default());
        let serving = Arc::new(Mutex::new(BTreeMap::new()));
        let slot = Arc::new(std::sync::OnceLock::new());
        let app = Router::new()
            .route("/metrics", get(metrics_text))
            .route("/serving", get(serving_list))
            .route("/serve/{hash}", axum::routing::post(serve))
            .with_state(ApiState {
                serving: serving.clone(),
                metrics: metrics.clone(),
                worker: slot.clone(),
            });
        let mut daemon = aether_keeper::Daemon::serve(api, app)
            .await
            .map_err(|e| ProvisionerError::Io(api.to_string(), e))?;
        let addr = daemon.addr();
        let stopped = daemon.stopped();
        let interval = config.interval;
        let kept = config.clone();
        let worker = Arc::new(Worker {
            api_url: daemon.url(),
            refusals: Mutex::default(),
            round_lock: tokio::sync::Mutex::new(()),
            client: Arc::new(AetherClient::new(&config.rpc_url, keypair)),
            account,
            node: NodeClient::new(config.node_url.clone()),
            record: registry::record(&config.identity),
            host: host.clone(),
            serving: serving.clone(),
            announced: Mutex::new(None),
            metrics: metrics.clone(),
            config,
        });
        let _ = slot.set(worker.clone());
        daemon.spawn(async move {
            aether_keeper::rounds(
                "provisioner",
                interval,
                (&worker.metrics.rounds, &worker.metrics.round_errors),
                stopped,
                || worker.round(),
            )
            .await
        });
        tracing::info!(%addr, vm_host = %host_url, "provisioner started");
        Ok(Provisioner {
            config: kept,
            host_url,
            daemon,
            metrics,
            serving,
            host,
        })
    }

    /// The settings it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// vm-host's URL: where the programs answer.
    pub fn host_url(&self) -> String {
        self.host_url.clone()
    }

    /// Where vm-host serves custom domains over HTTPS, if it does.
    pub async fn https_addr(&self) -> Option<SocketAddr> {
        self.host.lock().await.as_ref().and_then(|h| h.https_addr())
    }

    /// vm-host's supervisor of VMs, while vm-host runs.
    pub async fn supervisor(&self) -> Option<Arc<aether_vm_host::supervisor::Supervisor>> {
        self.host
            .lock()
            .await
            .as_ref()
            .map(|h| h.supervisor().clone())
    }

    /// The provisioner's API.
    pub fn url(&self) -> String {
        self.daemon.url()
    }

    /// Its counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The programs served now.
    pub fn serving(&self) -> Vec<Served> {
        self.serving.lock().unwrap().values().cloned().collect()
    }

    /// Stops provisioning, then vm-host and its VMs.
    pub async fn stop(self) {
        self.daemon.stop().await;
        if let Some(host) = self.host.lock().await.take() {
            host.stop().await;
        }
    }
}

/// Runs a provisioner until `shutdown` resolves; `on_ready` sees it started.
pub async fn run(
    config: Config,
    api: SocketAddr,
    on_ready: impl FnOnce(&Provisioner),
    shutdown: impl Future<Output = ()>,
) -> Result<(), ProvisionerError> {
    let start = Provisioner::start(config, api);
    aether_keeper::run("provisioner", start, on_ready, shutdown, Provisioner::stop).await
}
