//! `aether-vm-host`: the resource node's supervisor (`aether crn run`). It
//! boots micro-VMs from a content-addressed runtime ([`runtime`]) and
//! volumes ([`volumes`]) on a hypervisor backend ([`hypervisor`]: QEMU
//! microvm over QMP, or cloud-hypervisor over its REST API), talks to the
//! guest agent over one framed protocol ([`agent`]), and serves
//! `/vm/{item_hash}/…` by handing requests to the program inside
//! ([`router`], [`supervisor`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use aether_vm_host::{Config, Host};
//! let config = Config::new("/var/lib/aether/crn".into(), "/var/lib/aether/runtime/ID".into());
//! let host = Host::start(config).await?;
//! println!("serving on {}", host.url());
//! host.stop().await;
//! # Ok(()) }
//! ```

pub mod acme;
pub mod agent;
pub mod capacity;
pub mod egress;
pub mod hypervisor;
pub mod kvm;
pub mod relay;
pub mod router;
pub mod runtime;
pub mod supervisor;
pub mod tls;
pub mod volumes;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hypervisor::{Backend, CloudHypervisor, Grant, NetworkSpec, Qemu};
use serde::Deserialize;
use supervisor::{Limits, ProgramSpec, Supervisor};
use tracing::Instrument;

/// Which hypervisor to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// cloud-hypervisor where it works, QEMU otherwise.
    #[default]
    Auto,
    /// QEMU.
    Qemu,
    /// cloud-hypervisor.
    CloudHypervisor,
}

impl std::str::FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "qemu" => Ok(BackendChoice::Qemu),
            "cloud-hypervisor" => Ok(BackendChoice::CloudHypervisor),
            other => Err(format!(
                "unknown backend {other:?}: auto, qemu or cloud-hypervisor"
            )),
        }
    }
}

/// What one backend can do on this host.
#[derive(Clone, Debug)]
pub struct BackendReport {
    /// Its name.
    pub name: &'static str,
    /// Usable here.
    pub works: bool,
    /// How it would run, or why not.
    pub detail: String,
}

/// Which backends work on this host and why not (`aether crn doctor`).
pub fn doctor() -> Vec<BackendReport> {
    let kvm = match kvm::detect() {
        kvm::Kvm::Usable => "KVM".to_string(),
        kvm::Kvm::Unusable(why) => format!("TCG software emulation ({why})"),
    };
    let report = |name, found: Result<String, String>| BackendReport {
        name,
        works: found.is_ok(),
        detail: found.unwrap_or_else(|why| why),
    };
    vec![
        report(
            "cloud-hypervisor",
            CloudHypervisor::detect().map(|ch| format!("{} with KVM", ch.binary.display())),
        ),
        report(
            "qemu",
            Qemu::detect().map(|q| format!("{} microvm under {kvm}", q.binary.display())),
        ),
    ]
}

/// The backend `choice` names, if it works here.
pub fn backend(choice: BackendChoice) -> Result<Backend, String> {
    match choice {
        BackendChoice::Qemu => Qemu::detect().map(Backend::Qemu),
        BackendChoice::CloudHypervisor => CloudHypervisor::detect().map(Backend::CloudHypervisor),
        BackendChoice::Auto => CloudHypervisor::detect()
            .map(Backend::CloudHypervisor)
            .or_else(|_| Qemu::detect().map(Backend::Qemu)),
    }
}

/// A resource node's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on (loopback unless told otherwise).
    pub bind: IpAddr,
    /// Port (0 picks one).
    pub port: u16,
    /// VM files, persistent volumes and caches.
    pub data_dir: PathBuf,
    /// The runtime directory (from `aether crn build-runtime`).
    pub runtime: PathBuf,
    /// Which hypervisor.
    pub backend: BackendChoice,
    /// Idle stop, instances, readiness.
    pub limits: Limits,
    /// Largest request body relayed to a VM.
    pub max_body: usize,
    /// Bytes of downloaded volumes kept (least recently used go first).
    pub cache_limit: u64,
    /// Where guests may not go through the egress proxy; `None` turns the
    /// proxy off (guests then reach only their grants).
    pub egress_deny: Option<Vec<egress::Net>>,
    /// The relay QEMU runs per connection to a granted service [default:
    /// `aether-relay` beside this program, else busybox's `nc`].
    pub relay: Option<PathBuf>,
    /// Port of the HTTPS listener for custom domains; none when `None`.
    pub https_port: Option<u16>,
    /// Where certificates for custom domains come from; none when `None`
    /// (certificates already on disk are still served).
    pub acme: Option<acme::AcmeConfig>,
    /// vCPUs offered to VMs per core of this host (at least 1). A VM
    /// serving a function mostly waits for requests, so a core can carry
    /// several; memory is never offered twice.
    pub vcpus_per_core: u16,
}

impl Config {
    /// Defaults: 127.0.0.1:4020, VMs stop after 60 s idle, up to 4
    /// instances of a program, 8 requests in flight per instance, 60 s
    /// for a program to come up, 120 s for an answer to start, 64 MiB
    /// bodies.
    pub fn new(data_dir: PathBuf, runtime: PathBuf) -> Config {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 4020,
            data_dir,
            runtime,
            backend: BackendChoice::Auto,
            limits: Limits {
                idle_timeout: Duration::from_secs(60),
                max_instances: 4,
                max_inflight: 8,
                ready_timeout: Duration::from_secs(60),
                request_timeout: Duration::from_secs(120),
            },
            max_body: 64 * 1024 * 1024,
            cache_limit: 10 << 30,
            egress_deny: Some(egress::default_deny()),
            relay: None,
            https_port: None,
            acme: None,
            vcpus_per_core: 1,
        }
    }
}

/// Why the host did not start.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// No usable backend.
    #[error("no hypervisor: {0}")]
    Backend(String),
    /// The runtime is missing or broken.
    #[error("runtime: {0}")]
    Runtime(#[from] runtime::RuntimeError),
    /// The port did not bind.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// The volume cache could not be set up.
    #[error("volume cache: {0}")]
    Cache(String),
    /// The certificate store.
    #[error(transparent)]
    Certs(#[from] tls::CertError),
}

/// A running resource node.
pub struct Host {
    supervisor: Arc<Supervisor>,
    /// The API, the HTTPS server, certificates and the idle loop.
    daemon: aether_keeper::Daemon,
    cache: volumes::Cache,
    _egress: Option<egress::Egress>,
    domains: router::Domains,
    certs: Arc<tls::CertStore>,
    https_addr: Option<SocketAddr>,
    domains_changed: Arc<tokio::sync::Notify>,
}

impl Host {
    /// Starts serving.
    pub async fn start(config: Config) -> Result<Host, HostError> {
        let cache = volumes::Cache::new(config.data_dir.join("cache"), config.cache_limit)
            .map_err(|e| HostError::Cache(e.to_string()))?;
        let mut backend = backend(config.backend).map_err(HostError::Backend)?;
        if let (Backend::Qemu(qemu), Some(relay)) = (&mut backend, &config.relay) {
            qemu.relay = vec![relay.display().to_string()];
        }
        let runtime = runtime::Runtime::open(&config.runtime)?;
        tracing::info!(backend = backend.name(), acceleration = %backend.acceleration(), runtime = %runtime.id, "vm-host starting");
        let egress = match config.egress_deny.clone() {
            Some(deny) => Some(
                egress::Egress::start(deny)
                    .await
                    .map_err(|e| HostError::Bind(SocketAddr::from(([127, 0, 0, 1], 0)), e))?,
            ),
            None => None,
        };
        let supervisor = Supervisor::new(
            backend,
            runtime,
            config.data_dir.clone(),
            config.limits.clone(),
            egress.as_ref().map(|e| e.addr),
        );
        let api = SocketAddr::new(config.bind, config.port);
        let mut daemon = aether_keeper::Daemon::bind(api)
            .await
            .map_err(|e| HostError::Bind(api, e))?;
        let domains = router::Domains::default();
        let challenges = acme::Challenges::default();
        let certs = Arc::new(tls::CertStore::open(&config.data_dir.join("certs"))?);
        let app = router::routes(router::RouterState {
            supervisor: supervisor.clone(),
            domains: domains.clone(),
            challenges: challenges.clone(),
            max_body: config.max_body,
            request_timeout: config.limits.request_timeout,
            vcpus: capacity::offered_vcpus(config.vcpus_per_core),
        });
        let https_addr = match config.https_port {
            Some(port) => {
                let (listener, addr) = listen(SocketAddr::new(config.bind, port)).await?;
                daemon.spawn(tls::serve(
                    listener,
                    tls::server_config(certs.clone()),
                    app.clone(),
                    daemon.stopped(),
                ));
                Some(addr)
            }
            None => None,
        };
        let domains_changed = Arc::new(tokio::sync::Notify::new());
        if let Some(acme_config) = config.acme.clone() {
            daemon.spawn(certificates(
                acme_config,
                config.data_dir.join("acme"),
                challenges,
                domains.clone(),
                certs.clone(),
                domains_changed.clone(),
                daemon.stopped(),
            ));
        }
        daemon.serve_on(app);
        {
            let (supervisor, mut stopped) = (supervisor.clone(), daemon.stopped());
            let every = (config.limits.idle_timeout / 4)
                .clamp(Duration::from_millis(100), Duration::from_secs(5));
            daemon.spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {
                            supervisor.stop_idle().await;
                            supervisor.keep_up();
                        }
                        _ = stopped.changed() => return,
                    }
                }
            });
        }
        Ok(Host {
            supervisor,
            daemon,
            cache,
            _egress: egress,
            domains,
            certs,
            https_addr,
            domains_changed,
        })
    }

    /// Serves exactly these custom domains, each for its program (item
    /// hash); certificates are obtained for new ones when ACME is set up.
    pub fn set_domains(&self, domains: std::collections::HashMap<String, String>) {
        let mut current = self.domains.write().unwrap_or_else(|p| p.into_inner());
        if *current != domains {
            *current = domains;
            self.domains_changed.notify_one();
        }
    }

    /// Where HTTPS is served, if it is.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https_addr
    }

    /// The certificates of custom domains.
    pub fn certs(&self) -> &Arc<tls::CertStore> {
        &self.certs
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        self.daemon.url()
    }

    /// The programs and VMs.
    pub fn supervisor(&self) -> &Arc<Supervisor> {
        &self.supervisor
    }

    /// A volume by content id: from the cache, or fetched from the core
    /// node at `node_url` and checked (at most [`MAX_CODE_BYTES`]).
    pub async fn volume(&self, node_url: &str, id: &str) -> Result<PathBuf, volumes::VolumeError> {
        let node = aether_sdk::node_client::NodeClient::new(node_url);
        self.cache.fetch(&node, id, MAX_CODE_BYTES).await
    }

    /// Stops taking requests, stops every VM, then waits for every task.
    pub async fn stop(self) {
        self.daemon.signal_stop();
        self.supervisor.stop().await;
        self.daemon.stop().await;
    }
}

/// A listener on `addr`, and the address it got (port 0 picks one).
async fn listen(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), HostError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| HostError::Bind(addr, e))?;
    let bound = listener
        .local_addr()
        .map_err(|e| HostError::Bind(addr, e))?;
    Ok((listener, bound))
}

/// Keeps a certificate for every bound domain: obtains one when missing,
/// renews it `renew_before` its expiry, retries failures with backoff.
async fn certificates(
    config: acme::AcmeConfig,
    dir: PathBuf,
    challenges: acme::Challenges,
    domains: router::Domains,
    certs: Arc<tls::CertStore>,
    changed: Arc<tokio::sync::Notify>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut account: Option<acme::Acme> = None;
    let mut retry_at: std::collections::HashMap<String, (tokio::time::Instant, Duration)> =
        std::collections::HashMap::new();
    loop {
        let names: Vec<String> = domains
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        let now = std::time::SystemTime::now();
        for domain in names {
            let due = certs
                .expires(&domain)
                .is_none_or(|t| t <= now + config.renew_before);
            let waiting = retry_at
                .get(&domain)
                .is_some_and(|(at, _)| *at > tokio::time::Instant::now());
            if !due || waiting {
                continue;
            }
            let span = tracing::info_span!("certificate", %domain);
            let result = async {
                if account.is_none() {
                    account = Some(acme::Acme::open(&config, &dir, challenges.clone()).await?);
                }
                let (chain, key) = account
                    .as_ref()
                    .expect("just opened")
                    .issue(&domain)
                    .await?;
                certs
                    .install(&domain, chain.as_bytes(), key.as_bytes())
                    .map_err(|e| acme::AcmeError::Order(domain.clone(), e.to_string()))
            }
            .instrument(span)
            .await;
            match result {
                Ok(()) => {
                    tracing::info!(%domain, "certificate obtained");
                    retry_at.remove(&domain);
                }
                Err(e) => {
                    let wait = retry_at
                        .get(&domain)
                        .map_or(Duration::from_secs(2), |(_, w)| {
                            (*w * 2).min(Duration::from_secs(3600))
                        });
                    tracing::warn!(%domain, error = %e, retry_secs = wait.as_secs(), "no certificate");
                    retry_at.insert(domain, (tokio::time::Instant::now() + wait, wait));
                }
            }
        }
        let next_retry = retry_at.values().map(|(at, _)| *at).min();
        let sleep = next_retry
            .map_or(Duration::from_secs(3600), |at| {
                at.saturating_duration_since(tokio::time::Instant::now())
            })
            .min(Duration::from_secs(3600));
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            _ = changed.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

/// A program as `aether crn run --programs FILE` lists it (JSON array).
#[derive(Clone, Debug, Deserialize)]
pub struct ProgramEntry {
    /// The PROGRAM message's item hash.
    pub item_hash: String,
    /// A code volume image, a directory, or a tar archive.
    pub code: PathBuf,
    /// Run by `/bin/sh -c` in `/code`.
    pub entrypoint: String,
    /// Its HTTP port.
    pub port: u16,
    /// MiB of memory (default 256).
    #[serde(default = "default_memory")]
    pub memory_mib: u32,
    /// vCPUs (default 1).
    #[serde(default = "default_vcpus")]
    pub vcpus: u32,
    /// Environment.
    #[serde(default)]
    pub env: Vec<(String, String)>,
    /// Scratch volume, MiB.
    pub scratch_mib: Option<u64>,
    /// Persistent volume, MiB.
    pub persistent_mib: Option<u64>,
    /// Host services the guest may reach: "guest_ip:port=host:port".
    #[serde(default)]
    pub grants: Vec<String>,
    /// Makes it an instance (always on): `code` is then the image of its
    /// root file system, grown to this many MiB, and `entrypoint` runs
    /// inside it.
    #[serde(default)]
    pub rootfs_mib: Option<u64>,
}

fn default_memory() -> u32 {
    256
}
fn default_vcpus() -> u32 {
    1
}

/// Largest code volume made from a directory or archive.
pub const MAX_CODE_BYTES: u64 = 1 << 30;

impl ProgramEntry {
    /// The spec, making the code volume under `dir` when given a directory
    /// or an archive.
    pub fn into_spec(self, dir: &std::path::Path) -> Result<ProgramSpec, String> {
        let code = if self.code.is_dir() {
            let out = dir.join(format!("{}.ext4", self.item_hash));
            volumes::code_volume_from_dir(&self.code, &out, MAX_CODE_BYTES)
                .map_err(|e| e.to_string())?;
            out
        } else if volumes::fs_type(&self.code).is_ok() {
            self.code.clone()
        } else {
            let out = dir.join(format!("{}.ext4", self.item_hash));
            volumes::code_volume_from_archive(&self.code, &out, MAX_CODE_BYTES)
                .map_err(|e| e.to_string())?;
            out
        };
        let grants = self
            .grants
            .iter()
            .map(|g| parse_grant(g))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProgramSpec {
            code,
            entrypoint: self.entrypoint,
            port: self.port,
            memory_mib: self.memory_mib,
            vcpus: self.vcpus,
            env: self.env,
            scratch_mib: self.scratch_mib,
            persistent_mib: self.persistent_mib,
            network: (!grants.is_empty()).then_some(NetworkSpec { grants }),
            rootfs_mib: self.rootfs_mib,
        })
    }
}

/// "10.0.2.100:8899=127.0.0.1:8899" → a [`Grant`].
pub fn parse_grant(text: &str) -> Result<Grant, String> {
    let (guest, host) = text
        .split_once('=')
        .ok_or_else(|| format!("grant {text:?}: expected guest_ip:port=host:port"))?;
    let guest: SocketAddr = guest
        .parse()
        .map_err(|e| format!("grant {text:?}: guest address: {e}"))?;
    let host: SocketAddr = host
        .parse()
        .map_err(|e| format!("grant {text:?}: host address: {e}"))?;
    let IpAddr::V4(ip) = guest.ip() else {
        return Err(format!("grant {text:?}: the guest address must be IPv4"));
    };
    Ok(Grant {
        guest: (ip, guest.port()),
        host,
    })
}
