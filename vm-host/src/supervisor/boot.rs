//! Booting one VM of a program: its disks and what the guest mounts, its
//! network and the egress proxy, the hypervisor, the agent until the
//! program answers, and the watch that takes it out of its pool when it
//! fails.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aether_vm_protocol::{GuestConfig, GuestNetwork, Mount};
use tracing::Instrument;

use super::instance::{stop_all, Instance, Pool};
use super::{ProgramSpec, Supervisor, SupervisorError};
use crate::agent::AgentLink;
use crate::hypervisor::{Disk, NetworkSpec, RunningVm, VmSpec, GUEST_ADDRESS, GUEST_GATEWAY};
use crate::volumes;

/// The disks of a VM and where its guest mounts them, with the program's
/// volume lock when the VM has a kept volume.
struct Volumes {
    disks: Vec<Disk>,
    mounts: Vec<Mount>,
    volume: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Volumes {
    /// Gives the guest the disk at `path` as `serial`, mounted at `at` as
    /// `fs`, both read-only or both writable.
    fn attach(&mut self, path: PathBuf, serial: &str, at: String, fs: &str, read_only: bool) {
        self.disks.push(Disk {
            path,
            serial: serial.into(),
            read_only,
        });
        self.mounts.push(Mount {
            serial: serial.into(),
            path: at,
            fs: fs.into(),
            read_only,
        });
    }
}

impl Supervisor {
    pub(super) async fn boot(&self, pool: &Arc<Pool>) -> Result<Arc<Instance>, SupervisorError> {
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
        let Volumes {
            disks,
            mounts,
            volume,
        } = self.volumes(pool, &dir, root).await?;
        let (network, env) = self.network_and_env(spec);
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
        let config = guest_config(spec, mounts, env, root);
        let link = self.start_agent(&mut vm, &config, &dir).await?;
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
        watch(instance.clone(), pool.clone());
        Ok(instance)
    }

    /// The disks of a VM of `pool` whose own files are in `dir`, and where
    /// its guest mounts them (inside `root`).
    async fn volumes(
        &self,
        pool: &Pool,
        dir: &Path,
        root: &str,
    ) -> Result<Volumes, SupervisorError> {
        let fail = |e: String| SupervisorError::Boot(e);
        let spec = &pool.spec;
        let mut v = Volumes {
            disks: Vec::new(),
            mounts: Vec::new(),
            volume: None,
        };
        let keep = self.dir.join("volumes").join(&pool.hash);
        root_volume(pool, &keep, root, &mut v).await?;
        if let Some(mib) = spec.scratch_mib {
            let path = dir.join("scratch.ext4");
            volumes::empty_volume(&path, mib).map_err(|e| fail(e.to_string()))?;
            v.attach(path, "scratch", format!("{root}/scratch"), "ext4", false);
        }
        if let Some(mib) = spec.persistent_mib {
            if v.volume.is_none() {
                // Wait until the VM before has let go of it.
                v.volume = Some(pool.volume.clone().lock_owned().await);
            }
            std::fs::create_dir_all(&keep).map_err(|e| fail(e.to_string()))?;
            let path = keep.join("data.ext4");
            if !path.exists() {
                volumes::empty_volume(&path, mib).map_err(|e| fail(e.to_string()))?;
            }
            v.attach(path, "data", format!("{root}/data"), "ext4", false);
        }
        Ok(v)
    }

    /// The VM's network and its program's environment.
    fn network_and_env(&self, spec: &ProgramSpec) -> (Option<NetworkSpec>, Vec<(String, String)>) {
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
        (network, env)
    }

    /// Starts the agent of `vm` (files in `dir`) with `config`, until its
    /// program answers; a VM whose program does not is stopped.
    async fn start_agent(
        &self,
        vm: &mut RunningVm,
        config: &GuestConfig,
        dir: &Path,
    ) -> Result<AgentLink, SupervisorError> {
        let fail = |e: String| SupervisorError::Boot(e);
        let agent = vm
            .agent
            .take()
            .expect("a booted VM has its agent's channel");
        let console_log = vm.console_log.clone();
        match AgentLink::start(agent, config, self.limits.ready_timeout).await {
            Ok(link) => Ok(link),
            Err(e) => {
                vm.stop(Duration::from_millis(100)).await;
                Err(fail(format!(
                    "{e}; console: {}; hypervisor: {}",
                    crate::hypervisor::console_tail(&console_log, 15),
                    crate::hypervisor::console_tail(&dir.join("qemu.log"), 5),
                )))
            }
        }
    }
}

/// The disk a VM of `pool` runs from: an instance's root file system,
/// kept in `keep` (made from its image the first time), or a program's
/// code volume.
async fn root_volume(
    pool: &Pool,
    keep: &Path,
    root: &str,
    v: &mut Volumes,
) -> Result<(), SupervisorError> {
    let fail = |e: String| SupervisorError::Boot(e);
    let spec = &pool.spec;
    if let Some(mib) = spec.rootfs_mib {
        // Wait until the VM before (stopping, crashed) has let go of it.
        v.volume = Some(pool.volume.clone().lock_owned().await);
        std::fs::create_dir_all(keep).map_err(|e| fail(e.to_string()))?;
        let path = keep.join("rootfs.ext4");
        if !path.exists() {
            let (image, out) = (spec.code.clone(), path.clone());
            tokio::task::spawn_blocking(move || volumes::rootfs_volume(&image, &out, mib))
                .await
                .map_err(|e| fail(e.to_string()))?
                .map_err(|e| fail(e.to_string()))?;
        }
        v.attach(path, "rootfs", root.into(), "ext4", false);
    } else {
        let code_fs = volumes::fs_type(&spec.code).map_err(|e| fail(e.to_string()))?;
        v.attach(spec.code.clone(), "code", "/code".into(), code_fs, true);
    }
    Ok(())
}

/// What the agent of a VM running `spec` is told: the mounts, how to run
/// the program (chrooted in `root` for an instance) and its network.
fn guest_config(
    spec: &ProgramSpec,
    mounts: Vec<Mount>,
    env: Vec<(String, String)>,
    root: &str,
) -> GuestConfig {
    GuestConfig {
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
    }
}

/// When `instance` fails, it leaves `pool` and its VM is cleaned up.
fn watch(instance: Arc<Instance>, pool: Arc<Pool>) {
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
