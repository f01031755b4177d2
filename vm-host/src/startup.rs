//! How a [`Host`] starts: the backend, runtime and egress proxy, then the
//! API and HTTPS listeners, the certificate task and the idle loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::certificates::certificates;
use crate::hypervisor::Backend;
use crate::supervisor::Supervisor;
use crate::{acme, backend, capacity, egress, router, runtime, tls, volumes, Config, Host};

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

impl Host {
    /// Starts serving.
    pub async fn start(config: Config) -> Result<Host, HostError> {
        let cache = volumes::Cache::new(config.data_dir.join("cache"), config.cache_limit)
            .map_err(|e| HostError::Cache(e.to_string()))?;
        let backend = chosen_backend(&config)?;
        let runtime = runtime::Runtime::open(&config.runtime)?;
        tracing::info!(backend = backend.name(), acceleration = %backend.acceleration(), runtime = %runtime.id, "vm-host starting");
        let egress = start_egress(&config).await?;
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
        let https_addr = serve_https(&config, &mut daemon, &certs, &app).await?;
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
        spawn_idle_loop(&mut daemon, &supervisor, config.limits.idle_timeout);
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
}

/// The backend the config chooses, with its relay when one is given.
fn chosen_backend(config: &Config) -> Result<Backend, HostError> {
    let mut backend = backend(config.backend).map_err(HostError::Backend)?;
    if let (Backend::Qemu(qemu), Some(relay)) = (&mut backend, &config.relay) {
        qemu.relay = vec![relay.display().to_string()];
    }
    Ok(backend)
}

/// The egress proxy, unless the config turns it off.
async fn start_egress(config: &Config) -> Result<Option<egress::Egress>, HostError> {
    match config.egress_deny.clone() {
        Some(deny) => Ok(Some(egress::Egress::start(deny).await.map_err(|e| {
            HostError::Bind(SocketAddr::from(([127, 0, 0, 1], 0)), e)
        })?)),
        None => Ok(None),
    }
}

/// The HTTPS listener for custom domains, when the config has a port for
/// it, serving `app` under the daemon; where it listens.
async fn serve_https(
    config: &Config,
    daemon: &mut aether_keeper::Daemon,
    certs: &Arc<tls::CertStore>,
    app: &axum::Router,
) -> Result<Option<SocketAddr>, HostError> {
    let Some(port) = config.https_port else {
        return Ok(None);
    };
    let (listener, addr) = listen(SocketAddr::new(config.bind, port)).await?;
    daemon.spawn(tls::serve(
        listener,
        tls::server_config(certs.clone()),
        app.clone(),
        daemon.stopped(),
    ));
    Ok(Some(addr))
}

/// Stops idle VMs and keeps instances up, a few times per idle timeout.
fn spawn_idle_loop(
    daemon: &mut aether_keeper::Daemon,
    supervisor: &Arc<Supervisor>,
    idle_timeout: Duration,
) {
    let (supervisor, mut stopped) = (supervisor.clone(), daemon.stopped());
    let every = (idle_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
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
