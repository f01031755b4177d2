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
//!
//! Here: the specs, the supervisor and its programs coming and going;
//! `instance.rs` a VM serving a program and the pool of a program's VMs,
//! `scaling.rs` which VM takes a request, when another boots and when an
//! idle one stops, `boot.rs` how one VM boots, `usage.rs` what runs now.

mod boot;
mod instance;
mod scaling;
mod usage;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::hypervisor::{Backend, NetworkSpec};
use crate::runtime::Runtime;
use instance::{stop_all, Pool};

pub use instance::{InflightGuard, Instance};
pub use usage::Usage;

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
