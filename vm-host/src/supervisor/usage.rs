//! What runs now, as `/about/usage` shows it: each live VM, those of
//! replaced programs included.

use std::sync::atomic::Ordering;

use serde::Serialize;

use super::Supervisor;

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

impl Supervisor {
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
}
