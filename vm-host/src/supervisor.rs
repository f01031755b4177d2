//! Programs and their VMs: a request for a program goes to one of its
//! warm instances (the least busy); with none, one boots (cold start);
//! when every instance has `max_inflight` requests and fewer than
//! `max_instances` run, one more boots. Instances idle for `idle_timeout`
//! stop. An instance whose program exits or whose VM dies leaves the pool
//! at once; its requests answer 502 and the next request boots afresh.
//!
//! An instance (a spec with `rootfs_mib`) is different: it is always on.
//! One VM runs from when it is registered, booted again (with backoff)
//! when it dies, never stopped for idleness, its program chrooted in its
//! own root file system, which is kept across restarts.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aether_vm_protocol::{GuestConfig, GuestNetwork, Mount};
use serde::Serialize;
use tracing::Instrument;

use crate::agent::AgentLink;
use crate::hypervisor::{
    Backend, Disk, NetworkSpec, RunningVm, VmSpec, GUEST_ADDRESS, GUEST_GATEWAY,
};
use crate::runtime::Runtime;
use crate::volumes;

/// What a program needs to run.
#[derive(Clone, Debug)]
pub struct ProgramSpec {
    /// The code volume (ext4 or squashfs image), mounted read-only at `/code`.
    pub code: PathBuf,
    /// Run by `/bin/sh -c` in `/code`.
    pub entrypoint: String,
    /// The port its HTTP server listens on.
    pub port: u16,
    /// Memory per VM, MiB.
    pub memory_mib: u32,
    /// vCPUs per VM.
    pub vcpus: u32,
    /// Environment.
    pub env: Vec<(String, String)>,
    /// A scratch volume at `/scratch` of this many MiB, fresh at each boot.
    pub scratch_mib: Option<u64>,
    /// A persistent volume at `/data` of this many MiB, kept across
    /// restarts. A program with one runs at most one instance.
    pub persistent_mib: Option<u64>,
    /// The host services it may reach.
    pub network: Option<NetworkSpec>,
    /// Set for an instance: `code` is then the ext4 image its root file
    /// system starts from, copied once to its own disk of this many MiB
    /// (kept across restarts); `entrypoint` runs chrooted in it, in `/`,
    /// and the scratch and persistent volumes appear inside it.
    pub rootfs_mib: Option<u64>,
}

impl ProgramSpec {
    /// Whether it is an instance: one VM, always on.
    pub fn always_on(&self) -> bool {
        self.rootfs_mib.is_some()
    }
}

/// Why a request found no VM to serve it.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// No program by that hash here.
    #[error("no program {0} on this node")]
    UnknownProgram(String),
    /// The VM did not boot.
    #[error("the VM did not boot: {0}")]
    Boot(String),
    /// The node is stopping.
    #[error("this node is stopping")]
    Stopping,
}

/// One VM serving a program.
pub struct Instance {
    /// `<program prefix>-<n>`.
    pub name: String,
    /// The agent.
    pub link: AgentLink,
    vm: tokio::sync::Mutex<Option<RunningVm>>,
    dir: PathBuf,
    started: Instant,
    last_used: Mutex<Instant>,
    inflight: AtomicUsize,
    requests: AtomicU64,
    memory_mib: u32,
    vcpus: u32,
    stopping: std::sync::atomic::AtomicBool,
    /// Held while this VM may write the program's persistent volume.
    volume: Mutex<Option<tokio::sync::OwnedMutexGuard<()>>>,
}

impl Instance {
    /// Marks a request started; the guard marks it done.
    pub fn begin(self: &Arc<Self>) -> InflightGuard {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        self.requests.fetch_add(1, Ordering::Relaxed);
        InflightGuard(self.clone())
    }

    async fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.link.shutdown();
        if let Some(mut vm) = self.vm.lock().await.take() {
            vm.stop(Duration::from_secs(5)).await;
        }
        // The hypervisor is gone: the next VM may open the volume.
        self.volume.lock().unwrap_or_else(|p| p.into_inner()).take();
        // Scratch and sockets go; the persistent volume lives elsewhere.
        let _ = tokio::fs::remove_dir_all(&self.dir).await;
    }
}

/// Counts a request in flight until dropped.
pub struct InflightGuard(Arc<Instance>);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::SeqCst);
        *self.0.last_used.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }
}

struct Pool {
    hash: String,
    spec: ProgramSpec,
    instances: Mutex<Vec<Arc<Instance>>>,
    boot: Arc<tokio::sync::Mutex<()>>,
    /// One VM at a time holds the persistent volume.
    volume: Arc<tokio::sync::Mutex<()>>,
    /// The last boot failure: when, why, and how many in a row.
    failed: Mutex<Option<(Instant, String, u32)>>,
}

/// How long a program whose boot failed `n` times in a row waits before
/// the next try: 2, 4, 8… seconds, at most a minute.
fn backoff(n: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(n.min(6)).min(60))
}

impl Pool {
    fn live(&self) -> Vec<Arc<Instance>> {
        let mut list = self.instances.lock().unwrap_or_else(|p| p.into_inner());
        list.retain(|i| i.link.state().failure().is_none());
        list.clone()
    }
}

/// A VM as `/about/usage` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Usage {
    /// The program's item hash.
    pub program: String,
    /// The instance.
    pub name: String,
    /// Memory, MiB.
    pub memory_mib: u32,
    /// vCPUs.
    pub vcpus: u32,
    /// Seconds since its program became ready.
    pub uptime_seconds: f64,
    /// Requests it served or serves.
    pub requests: u64,
    /// Requests in flight.
    pub inflight: usize,
    /// An instance's VM (always on), not a program's.
    pub always_on: bool,
}

/// Limits of the supervisor.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Stop an instance idle this long.
    pub idle_timeout: Duration,
    /// Most instances of one program.
    pub max_instances: usize,
    /// Requests in flight on an instance before another boots.
    pub max_inflight: usize,
    /// How long a program may take to answer on its port after boot.
    pub ready_timeout: Duration,
    /// How long a request may wait for the head of its answer. A VM that
    /// lets it pass is stopped: a guest whose kernel died may never close
    /// its channel.
    pub request_timeout: Duration,
}

/// The programs of this node and their VMs.
pub struct Supervisor {
    backend: Backend,
    runtime: Runtime,
    dir: PathBuf,
    limits: Limits,
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    /// One lock per program on its kept volumes, shared by the pools that
    /// replace each other: a new VM waits for the old one to let go.
    volume_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// VMs booted so far: each VM's number.
    booted: AtomicU64,
    /// Pools replaced by a newer spec, until their last VM stops.
    retired: Mutex<Vec<Arc<Pool>>>,
    stopping: std::sync::atomic::AtomicBool,
    egress: Option<std::net::SocketAddr>,
}

impl Supervisor {
    /// A supervisor booting `runtime` on `backend`, keeping VM files in
    /// `dir`; VMs with a network reach the egress proxy at `egress`.
    pub fn new(
        backend: Backend,
        runtime: Runtime,
        dir: PathBuf,
        limits: Limits,
        egress: Option<std::net::SocketAddr>,
    ) -> Arc<Self> {
        Arc::new(Supervisor {
            backend,
            runtime,
            dir,
            limits,
            pools: Mutex::default(),
            volume_locks: Mutex::default(),
            booted: AtomicU64::new(0),
            retired: Mutex::default(),
            stopping: Default::default(),
            egress,
        })
    }

    /// The backend's name and acceleration.
    pub fn backend(&self) -> (&'static str, String) {
        (self.backend.name(), self.backend.acceleration())
    }

    /// Serves `spec` as program `hash` (replacing an earlier spec: running
    /// instances finish and new requests boot the new one).
    pub fn register(&self, hash: &str, spec: ProgramSpec) {
        let pool = Arc::new(Pool {
            hash: hash.to_string(),
            spec,
            instances: Mutex::default(),
            boot: Arc::default(),
            volume: self
                .volume_locks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(hash.to_string())
                .or_default()
                .clone(),
            failed: Mutex::default(),
        });
        let old = self
            .pools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(hash.to_string(), pool);
        if let Some(old) = old {
            // New requests already go to the new pool; the old VMs stop
            // once their requests are answered (see `stop_idle`), and so
            // does one whose boot was under way.
            self.retired
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(old);
        }
    }

    /// Stops serving `hash`; its VMs stop.
    pub async fn unregister(&self, hash: &str) {
        let old = self
            .pools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(hash);
        if let Some(old) = old {
            stop_all(&old).await;
            // A boot under way adds its VM later: the sweep stops it.
            self.retired
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(old);
        }
    }

    /// Stops serving `hash` and deletes its kept volumes (an instance's
    /// root file system, a program's persistent volume): it is not paid
    /// for any more.
    pub async fn discard(&self, hash: &str) {
        let pool = self
            .pools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(hash)
            .cloned();
        self.unregister(hash).await;
        if let Some(pool) = pool {
            // A boot under way holds the volume lock until its VM is up
            // (then swept): wait for it, so the disk is not in use.
            let _held = pool.volume.clone().lock_owned().await;
        }
        let _ = tokio::fs::remove_dir_all(self.dir.join("volumes").join(hash)).await;
        self.volume_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(hash);
    }

    /// Boots the VM of each instance that has none (always on). A boot
    /// that failed is tried again after its backoff.
    pub fn keep_up(self: &Arc<Self>) {
        if self.stopping.load(Ordering::SeqCst) {
            return;
        }
        for pool in self.all_pools() {
            if pool.spec.always_on() && pool.live().is_empty() && pool.boot.try_lock().is_ok() {
                let (supervisor, hash) = (self.clone(), pool.hash.clone());
                tokio::spawn(async move {
                    if let Err(e) = supervisor.instance(&hash).await {
                        tracing::warn!(instance = %hash, error = %e, "instance not up");
                    }
                });
            }
        }
    }

    /// An instance to send a request for `hash` to, booting one if needed.
    pub async fn instance(self: &Arc<Self>, hash: &str) -> Result<Arc<Instance>, SupervisorError> {
        let pool = self
            .pools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(hash)
            .cloned()
            .ok_or_else(|| SupervisorError::UnknownProgram(hash.to_string()))?;
        let max_instances = if pool.spec.persistent_mib.is_some() || pool.spec.always_on() {
            1
        } else {
            self.limits.max_instances
        };
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                return Err(SupervisorError::Stopping);
            }
            let live = pool.live();
            let least = live
                .iter()
                .min_by_key(|i| i.inflight.load(Ordering::SeqCst))
                .cloned();
            if let Some(i) = &least {
                if i.inflight.load(Ordering::SeqCst) < self.limits.max_inflight {
                    return Ok(i.clone());
                }
            }
            if live.len() < max_instances {
                if let Ok(guard) = pool.boot.clone().try_lock_owned() {
                    // Someone may have booted one while we looked.
                    if pool.live().len() == live.len() {
                        // A program that just failed to boot is not booted
                        // again at once: each request would wait it out.
                        let failed = pool
                            .failed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .clone();
                        if let Some((when, why, n)) = failed {
                            let wait = backoff(n);
                            if when.elapsed() < wait && live.is_empty() {
                                return Err(SupervisorError::Boot(format!(
                                    "{why} (it failed {n} time(s) in a row; the next boot is tried {:.0?} after the last)",
                                    wait
                                )));
                            }
                        }
                        // The boot runs on a task of its own: a request
                        // whose client gives up must not take a VM half
                        // booted down with it, or a boot slower than the
                        // clients' timeout would never finish.
                        let (supervisor, pool) = (self.clone(), pool.clone());
                        let booting = tokio::spawn(async move {
                            let instance = supervisor.boot(&pool).await;
                            let mut failed = pool.failed.lock().unwrap_or_else(|p| p.into_inner());
                            *failed = match &instance {
                                Ok(_) => None,
                                Err(e) => {
                                    let n = failed.as_ref().map_or(0, |f| f.2) + 1;
                                    Some((Instant::now(), e.to_string(), n))
                                }
                            };
                            drop(failed);
                            drop(guard);
                            instance
                        });
                        return booting
                            .await
                            .map_err(|e| SupervisorError::Boot(e.to_string()))?;
                    }
                    continue;
                }
            }
            if let Some(i) = least {
                return Ok(i);
            }
            // The first boot is under way: wait for it.
            drop(pool.boot.lock().await);
        }
    }

    async fn boot(&self, pool: &Arc<Pool>) -> Result<Arc<Instance>, SupervisorError> {
        // Numbered across the host, not per pool: a replaced program's
        // VMs still running must not share a name (and a directory) with
        // its new ones.
        let n = self.booted.fetch_add(1, Ordering::SeqCst) + 1;
        // Short names: Unix socket paths are limited to 108 bytes.
        let name = format!("{}-{n}", &pool.hash[..pool.hash.len().min(12)]);
        let span = tracing::info_span!("boot", vm = %name);
        let dir = self.dir.join("vms").join(&name);
        let booted = self.boot_named(pool, name).instrument(span).await;
        if booted.is_err() {
            // A VM that did not boot leaves nothing behind.
            let _ = tokio::fs::remove_dir_all(&dir).await;
        }
        booted
    }

    async fn boot_named(
        &self,
        pool: &Arc<Pool>,
        name: String,
    ) -> Result<Arc<Instance>, SupervisorError> {
        let started = Instant::now();
        let dir = self.dir.join("vms").join(&name);
        let fail = |e: String| SupervisorError::Boot(e);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| fail(e.to_string()))?;
        let spec = &pool.spec;
        // An instance's volumes live inside its root, where its program runs.
        let root = if spec.always_on() { "/rootfs" } else { "" };
        let mut disks = Vec::new();
        let mut mounts = Vec::new();
        let mut volume = None;
        let keep = self.dir.join("volumes").join(&pool.hash);
        if let Some(mib) = spec.rootfs_mib {
            // Wait until the VM before (stopping, crashed) has let go of it.
            volume = Some(pool.volume.clone().lock_owned().await);
            std::fs::create_dir_all(&keep).map_err(|e| fail(e.to_string()))?;
            let path = keep.join("rootfs.ext4");
            if !path.exists() {
                let (image, out) = (spec.code.clone(), path.clone());
                tokio::task::spawn_blocking(move || volumes::rootfs_volume(&image, &out, mib))
                    .await
                    .map_err(|e| fail(e.to_string()))?
                    .map_err(|e| fail(e.to_string()))?;
            }
            disks.push(Disk {
                path,
                serial: "rootfs".into(),
                read_only: false,
            });
            mounts.push(Mount {
                serial: "rootfs".into(),
                path: root.into(),
                fs: "ext4".into(),
                read_only: false,
            });
        } else {
            let code_fs = volumes::fs_type(&spec.code).map_err(|e| fail(e.to_string()))?;
            disks.push(Disk {
                path: spec.code.clone(),
                serial: "code".into(),
                read_only: true,
            });
            mounts.push(Mount {
                serial: "code".into(),
                path: "/code".into(),
                fs: code_fs.into(),
                read_only: true,
            });
        }
        if let Some(mib) = spec.scratch_mib {
            let path = dir.join("scratch.ext4");
            volumes::empty_volume(&path, mib).map_err(|e| fail(e.to_string()))?;
            disks.push(Disk {
                path,
                serial: "scratch".into(),
                read_only: false,
            });
            mounts.push(Mount {
                serial: "scratch".into(),
                path: format!("{root}/scratch"),
                fs: "ext4".into(),
                read_only: false,
            });
        }
        if let Some(mib) = spec.persistent_mib {
            if volume.is_none() {
                // Wait until the VM before has let go of it.
                volume = Some(pool.volume.clone().lock_owned().await);
            }
            std::fs::create_dir_all(&keep).map_err(|e| fail(e.to_string()))?;
            let path = keep.join("data.ext4");
            if !path.exists() {
                volumes::empty_volume(&path, mib).map_err(|e| fail(e.to_string()))?;
            }
            disks.push(Disk {
                path,
                serial: "data".into(),
                read_only: false,
            });
            mounts.push(Mount {
                serial: "data".into(),
                path: format!("{root}/data"),
                fs: "ext4".into(),
                read_only: false,
            });
        }
        // A VM with a network also gets the egress proxy, named in its
        // program's environment the way HTTP clients look for it.
        let mut network = spec.network.clone();
        let mut env = spec.env.clone();
        if let (Some(net), Some(proxy)) = (network.as_mut(), self.egress) {
            let (ip, port) = crate::egress::GUEST_PROXY;
            net.grants.push(crate::hypervisor::Grant {
                guest: (ip, port),
                host: proxy,
            });
            for name in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
                env.push((name.into(), format!("http://{ip}:{port}")));
            }
        }
        let vm_spec = VmSpec {
            name: name.clone(),
            dir: dir.clone(),
            kernel: self.runtime.kernel(),
            initrd: self.runtime.initrd(),
            memory_mib: spec.memory_mib,
            vcpus: spec.vcpus,
            disks,
            network,
        };
        let mut vm = self
            .backend
            .boot(&vm_spec)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let config = GuestConfig {
            mounts,
            entrypoint: spec.entrypoint.clone(),
            workdir: if spec.always_on() { "/" } else { "/code" }.into(),
            port: spec.port,
            env,
            network: spec.network.as_ref().map(|_| GuestNetwork {
                address: GUEST_ADDRESS.into(),
                gateway: GUEST_GATEWAY.into(),
            }),
            root: spec.always_on().then(|| root.to_string()),
        };
        let agent = vm
            .agent
            .take()
            .expect("a booted VM has its agent's channel");
        let console_log = vm.console_log.clone();
        let link = match AgentLink::start(agent, &config, self.limits.ready_timeout).await {
            Ok(link) => link,
            Err(e) => {
                vm.stop(Duration::from_millis(100)).await;
                return Err(fail(format!(
                    "{e}; console: {}; hypervisor: {}",
                    crate::hypervisor::console_tail(&console_log, 15),
                    crate::hypervisor::console_tail(&dir.join("qemu.log"), 5),
                )));
            }
        };
        tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "ready");
        let instance = Arc::new(Instance {
            name,
            link,
            vm: tokio::sync::Mutex::new(Some(vm)),
            dir,
            started: Instant::now(),
            last_used: Mutex::new(Instant::now()),
            inflight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            memory_mib: spec.memory_mib,
            vcpus: spec.vcpus,
            stopping: Default::default(),
            volume: Mutex::new(volume),
        });
        pool.instances
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(instance.clone());
        // The host began to stop while this VM booted: it was not there to
        // be stopped with the others.
        if self.stopping.load(Ordering::SeqCst) {
            stop_all(pool).await;
            return Err(SupervisorError::Stopping);
        }
        // When it fails, it leaves the pool and its VM is cleaned up.
        {
            let (instance, pool) = (instance.clone(), pool.clone());
            tokio::spawn(async move {
                let why = instance.link.failed().await;
                if !instance.stopping.load(Ordering::SeqCst) {
                    tracing::warn!(vm = %instance.name, %why, "instance failed");
                }
                pool.instances
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .retain(|i| !Arc::ptr_eq(i, &instance));
                instance.stop().await;
            });
        }
        Ok(instance)
    }

    fn all_pools(&self) -> Vec<Arc<Pool>> {
        self.pools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Takes `instance` out of service and stops it (it stopped answering).
    pub async fn retire(&self, instance: &Arc<Instance>) {
        for pool in self.all_pools() {
            pool.instances
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|i| !Arc::ptr_eq(i, instance));
        }
        instance.stop().await;
    }

    /// Stops instances idle past the timeout, and those of retired pools
    /// with no request in flight; returns how many.
    pub async fn stop_idle(&self) -> usize {
        let mut stopped = self.sweep_retired().await;
        let pools = self.all_pools();
        for pool in pools.into_iter().filter(|p| !p.spec.always_on()) {
            let idle: Vec<Arc<Instance>> = {
                let mut list = pool.instances.lock().unwrap_or_else(|p| p.into_inner());
                let (idle, busy): (Vec<_>, Vec<_>) = list.drain(..).partition(|i| {
                    i.inflight.load(Ordering::SeqCst) == 0
                        && i.last_used
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .elapsed()
                            >= self.limits.idle_timeout
                });
                *list = busy;
                idle
            };
            for instance in idle {
                tracing::info!(vm = %instance.name, "stopping an idle VM");
                instance.stop().await;
                stopped += 1;
            }
        }
        stopped
    }

    /// Stops the VMs of replaced pools once they are idle; forgets pools
    /// with no VM left and no boot under way.
    async fn sweep_retired(&self) -> usize {
        let retired: Vec<Arc<Pool>> = self
            .retired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut stopped = 0;
        for pool in &retired {
            let idle: Vec<Arc<Instance>> = {
                let mut list = pool.instances.lock().unwrap_or_else(|p| p.into_inner());
                let (idle, busy): (Vec<_>, Vec<_>) = list
                    .drain(..)
                    .partition(|i| i.inflight.load(Ordering::SeqCst) == 0);
                *list = busy;
                idle
            };
            for instance in idle {
                tracing::info!(vm = %instance.name, "stopping a VM of a replaced program");
                instance.stop().await;
                stopped += 1;
            }
        }
        self.retired
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|pool| {
                !pool
                    .instances
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .is_empty()
                    || pool.boot.try_lock().is_err()
            });
        stopped
    }

    /// The running VMs, those of replaced programs included.
    pub fn usage(&self) -> Vec<Usage> {
        let mut pools = self.all_pools();
        pools.extend(
            self.retired
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned(),
        );
        let mut out = Vec::new();
        for pool in pools {
            for i in pool.live() {
                out.push(Usage {
                    program: pool.hash.clone(),
                    name: i.name.clone(),
                    memory_mib: i.memory_mib,
                    vcpus: i.vcpus,
                    uptime_seconds: i.started.elapsed().as_secs_f64(),
                    requests: i.requests.load(Ordering::Relaxed),
                    inflight: i.inflight.load(Ordering::SeqCst),
                    always_on: pool.spec.always_on(),
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Stops every VM; no new ones boot.
    pub async fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let pools: Vec<Arc<Pool>> = self
            .pools
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .map(|(_, p)| p)
            .chain(
                self.retired
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .drain(..),
            )
            .collect();
        for pool in pools {
            stop_all(&pool).await;
            // A boot under way (its own task) stops its VM itself when it
            // sees the host stopping: wait for it, so no VM outlives this.
            drop(pool.boot.lock().await);
        }
    }
}

async fn stop_all(pool: &Pool) {
    let all: Vec<Arc<Instance>> = pool
        .instances
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .drain(..)
        .collect();
    for instance in all {
        instance.stop().await;
    }
}
