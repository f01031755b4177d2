//! One VM serving a program (`Instance`), the count of its requests in
//! flight, and the pool of a program's VMs.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::ProgramSpec;
use crate::agent::AgentLink;
use crate::hypervisor::RunningVm;

/// One VM serving a program.
pub struct Instance {
    /// `<program prefix>-<n>`.
    pub name: String,
    /// The agent.
    pub link: AgentLink,
    pub(super) vm: tokio::sync::Mutex<Option<RunningVm>>,
    pub(super) dir: PathBuf,
    pub(super) started: Instant,
    pub(super) last_used: Mutex<Instant>,
    pub(super) inflight: AtomicUsize,
    pub(super) requests: AtomicU64,
    pub(super) memory_mib: u32,
    pub(super) vcpus: u32,
    pub(super) stopping: AtomicBool,
    /// Held while this VM may write the program's persistent volume.
    pub(super) volume: Mutex<Option<tokio::sync::OwnedMutexGuard<()>>>,
}

impl Instance {
    /// Marks a request started; the guard marks it done.
    pub fn begin(self: &Arc<Self>) -> InflightGuard {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        self.requests.fetch_add(1, Ordering::Relaxed);
        InflightGuard(self.clone())
    }

    pub(super) async fn stop(&self) {
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

pub(super) struct Pool {
    pub(super) hash: String,
    pub(super) spec: ProgramSpec,
    pub(super) instances: Mutex<Vec<Arc<Instance>>>,
    pub(super) boot: Arc<tokio::sync::Mutex<()>>,
    /// One VM at a time holds the persistent volume.
    pub(super) volume: Arc<tokio::sync::Mutex<()>>,
    /// The last boot failure: when, why, and how many in a row.
    pub(super) failed: Mutex<Option<(Instant, String, u32)>>,
}

/// How long a program whose boot failed `n` times in a row waits before
/// the next try: 2, 4, 8… seconds, at most a minute.
pub(super) fn backoff(n: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(n.min(6)).min(60))
}

impl Pool {
    pub(super) fn live(&self) -> Vec<Arc<Instance>> {
        let mut list = self.instances.lock().unwrap_or_else(|p| p.into_inner());
        list.retain(|i| i.link.state().failure().is_none());
        list.clone()
    }
}

pub(super) async fn stop_all(pool: &Pool) {
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
