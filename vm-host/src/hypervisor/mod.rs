//! Hypervisor backends: what boots a VM from a [`VmSpec`] and hands back
//! the agent's channel. QEMU's `microvm` (over QMP) runs anywhere QEMU is
//! installed, under KVM where it works and TCG otherwise;
//! cloud-hypervisor (over its REST API) runs where its binary is.

pub mod cloud_hypervisor;
pub mod qemu;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::UnixStream;

pub use cloud_hypervisor::CloudHypervisor;
pub use qemu::Qemu;

/// Why a VM did not boot or answer.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// The hypervisor could not be started.
    #[error("starting {what}: {message}")]
    Start {
        /// Which program.
        what: String,
        /// Why.
        message: String,
    },
    /// The hypervisor's control API failed.
    #[error("{0}")]
    Control(String),
    /// The VM ended, with the end of its console.
    #[error("the VM stopped: {0}")]
    Stopped(String),
    /// Waiting for something took too long.
    #[error("timed out {0}")]
    Timeout(String),
    /// A file of the VM.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// A disk given to the guest, found there by its serial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    /// The raw image.
    pub path: PathBuf,
    /// Its virtio serial (at most 20 bytes).
    pub serial: String,
    /// Read-only for the guest.
    pub read_only: bool,
}

/// A host service the guest may reach, at a fixed guest address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Where the guest connects, e.g. 10.0.2.100:8899.
    pub guest: (Ipv4Addr, u16),
    /// What it reaches on the host.
    pub host: SocketAddr,
}

/// The guest's network: nothing but the granted services.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkSpec {
    /// The services it may reach.
    pub grants: Vec<Grant>,
}

/// Guest network addresses (those of QEMU's user network).
pub const GUEST_ADDRESS: &str = "10.0.2.15/24";
/// The guest's gateway.
pub const GUEST_GATEWAY: &str = "10.0.2.2";

/// One VM to boot.
#[derive(Clone, Debug)]
pub struct VmSpec {
    /// Its name (unique on this host).
    pub name: String,
    /// Where its sockets and console log go.
    pub dir: PathBuf,
    /// Kernel image.
    pub kernel: PathBuf,
    /// Initramfs.
    pub initrd: PathBuf,
    /// Memory in MiB.
    pub memory_mib: u32,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Disks.
    pub disks: Vec<Disk>,
    /// Network, if any.
    pub network: Option<NetworkSpec>,
}

impl VmSpec {
    /// The console log.
    pub fn console_log(&self) -> PathBuf {
        self.dir.join("console.log")
    }
}

/// What a backend can do.
pub trait Hypervisor: Send + Sync {
    /// Its name, as `aether crn doctor` prints it.
    fn name(&self) -> &'static str;
    /// How it runs guests here (e.g. "tcg" or "kvm").
    fn acceleration(&self) -> String;
    /// Starts the VM and returns once the agent's channel is connected.
    fn boot(&self, spec: &VmSpec) -> impl Future<Output = Result<RunningVm, VmError>> + Send;
}

/// The backends, as one type.
#[derive(Clone, Debug)]
pub enum Backend {
    /// QEMU microvm.
    Qemu(Qemu),
    /// cloud-hypervisor.
    CloudHypervisor(CloudHypervisor),
}

impl Backend {
    /// Its name.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Qemu(q) => q.name(),
            Backend::CloudHypervisor(c) => c.name(),
        }
    }

    /// How it runs guests.
    pub fn acceleration(&self) -> String {
        match self {
            Backend::Qemu(q) => q.acceleration(),
            Backend::CloudHypervisor(c) => c.acceleration(),
        }
    }

    /// Boots `spec`.
    pub async fn boot(&self, spec: &VmSpec) -> Result<RunningVm, VmError> {
        match self {
            Backend::Qemu(q) => q.boot(spec).await,
            Backend::CloudHypervisor(c) => c.boot(spec).await,
        }
    }
}

/// How a running VM is controlled.
pub enum Control {
    /// QEMU's QMP socket.
    Qmp(PathBuf),
    /// cloud-hypervisor's API socket.
    Api(PathBuf),
}

/// A booted VM.
pub struct RunningVm {
    /// The agent's channel, until someone takes it.
    pub agent: Option<UnixStream>,
    /// The hypervisor process.
    pub process: tokio::process::Child,
    /// Its control socket.
    pub control: Control,
    /// Its console log.
    pub console_log: PathBuf,
}

impl RunningVm {
    /// Asks the hypervisor whether the VM runs (QMP `query-status`, or
    /// `vm.info`), returning its state as the hypervisor names it.
    pub async fn status(&self) -> Result<String, VmError> {
        match &self.control {
            Control::Qmp(path) => qemu::status(path).await,
            Control::Api(path) => cloud_hypervisor::status(path).await,
        }
    }

    /// Stops the VM: waits `grace` for it to power off by itself (the
    /// caller has asked the agent to), then has the hypervisor quit, then
    /// kills it.
    pub async fn stop(&mut self, grace: Duration) {
        if tokio::time::timeout(grace, self.process.wait())
            .await
            .is_ok()
        {
            return;
        }
        let asked = match &self.control {
            Control::Qmp(path) => qemu::quit(path).await,
            Control::Api(path) => cloud_hypervisor::shutdown_vmm(path).await,
        };
        if asked.is_ok()
            && tokio::time::timeout(Duration::from_secs(3), self.process.wait())
                .await
                .is_ok()
        {
            return;
        }
        let _ = self.process.kill().await;
    }
}

/// The last `n` lines of a console log.
pub fn console_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The program `name` on `PATH`.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Starts a hypervisor process with its output in `log_path`; it is
/// killed if the handle is dropped.
pub(crate) fn spawn_logged(
    binary: &Path,
    args: &[String],
    log_path: &Path,
) -> Result<tokio::process::Child, VmError> {
    let io = |e| VmError::Io(log_path.to_path_buf(), e);
    let log = std::fs::File::create(log_path).map_err(io)?;
    tokio::process::Command::new(binary)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().map_err(io)?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| VmError::Start {
            what: binary.display().to_string(),
            message: e.to_string(),
        })
}

/// Waits until `path` exists (a socket the hypervisor creates).
pub(crate) async fn wait_for_path(
    path: &Path,
    timeout: Duration,
    process: &mut tokio::process::Child,
    console: &Path,
) -> Result<(), VmError> {
    let deadline = tokio::time::Instant::now() + timeout;
    while !path.exists() {
        if let Ok(Some(status)) = process.try_wait() {
            return Err(VmError::Stopped(format!(
                "the hypervisor exited ({status}) before creating {}: {}",
                path.display(),
                console_tail(console, 20)
            )));
        }
        if tokio::time::Instant::now() > deadline {
            return Err(VmError::Timeout(format!("waiting for {}", path.display())));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}
