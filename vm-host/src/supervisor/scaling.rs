//! Scaling a program's VMs: which VM takes a request, when another boots
//! (with a backoff after failed boots), keeping instances up, and stopping
//! idle VMs and those of replaced programs.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::instance::{backoff, Instance, Pool};
use super::{Supervisor, SupervisorError};

impl Supervisor {
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
                        return self.boot_held(&pool, guard, live.is_empty()).await;
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

    /// Boots one more VM of `pool`, whose boot lock `guard` is held, and
    /// records how the boot went; `none_live` when the pool has no VM.
    async fn boot_held(
        self: &Arc<Self>,
        pool: &Arc<Pool>,
        guard: tokio::sync::OwnedMutexGuard<()>,
        none_live: bool,
    ) -> Result<Arc<Instance>, SupervisorError> {
        // A program that just failed to boot is not booted
        // again at once: each request would wait it out.
        let failed = pool
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some((when, why, n)) = failed {
            let wait = backoff(n);
            if when.elapsed() < wait && none_live {
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
        booting
            .await
            .map_err(|e| SupervisorError::Boot(e.to_string()))?
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
}
