//! A resource node's settings and their defaults.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use aether_keeper::settings::{self, Invalid};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::supervisor::Limits;
use crate::{acme, egress, BackendChoice};

/// Certificates are renewed this long before they expire.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 86_400);

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

/// `~/.local/share/aether` (or `$XDG_DATA_HOME/aether`): where a resource
/// node keeps its data (`crn`) and built runtimes (`runtimes`).
pub fn data_home() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("aether")
}

/// A resource node's settings as `aether crn run` and `aether keeper
/// provisioner` take them: one per flag, `AETHER_CRN_*` variable and
/// `--config` TOML key (see `aether_keeper::settings`), turned into a
/// [`Config`] by [`HostSettings::into_config`]. Their defaults are
/// [`Config::new`]'s.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HostSettings {
    /// Port of the router.
    pub port: u16,
    /// Address to bind.
    pub bind: IpAddr,
    /// VM files, persistent volumes and caches.
    pub data_dir: PathBuf,
    /// The runtime directory from `aether crn build-runtime`; by default
    /// the newest built.
    pub runtime: Option<PathBuf>,
    /// The hypervisor: auto, qemu or cloud-hypervisor.
    pub backend: BackendChoice,
    /// Seconds a VM may stay idle before it stops.
    pub idle_seconds: u64,
    /// Most VMs of one program.
    pub max_instances: usize,
    /// vCPUs offered to VMs per core of this machine, 1 to 64 (register
    /// the node with cores × this many vCPUs).
    pub vcpus_per_core: u16,
    /// Serve live custom domains over HTTPS on this port.
    pub https_port: Option<u16>,
    /// ACME directory to get their certificates from (HTTP-01 on the
    /// router's port), e.g. https://acme-v02.api.letsencrypt.org/directory.
    pub acme_directory: Option<String>,
    /// A PEM root to trust for the ACME directory's HTTPS (a test CA).
    pub acme_ca: Option<PathBuf>,
    /// Contact for the ACME account, e.g. mailto:ops@example.com
    /// (repeatable).
    pub acme_contacts: Vec<String>,
}

impl Default for HostSettings {
    fn default() -> Self {
        let config = Config::new(data_home().join("crn"), PathBuf::new());
        HostSettings {
            port: config.port,
            bind: config.bind,
            data_dir: config.data_dir,
            runtime: None,
            backend: config.backend,
            idle_seconds: config.limits.idle_timeout.as_secs(),
            max_instances: config.limits.max_instances,
            vcpus_per_core: config.vcpus_per_core,
            https_port: None,
            acme_directory: None,
            acme_ca: None,
            acme_contacts: Vec::new(),
        }
    }
}

impl settings::Settings for HostSettings {
    const NAME: &'static str = "CRN";
    const FLAG_NAMES: &'static [(&'static str, &'static str)] =
        &[("acme_contacts", "acme-contact")];

    fn check(&self) -> Result<(), Invalid> {
        settings::check_at_least_one("max_instances", self.max_instances as u64)?;
        if !(1..=64).contains(&self.vcpus_per_core) {
            return Err(Invalid::new("vcpus_per_core", "from 1 to 64"));
        }
        if let Some(directory) = &self.acme_directory {
            if !directory.starts_with("https://") {
                return Err(Invalid::new(
                    "acme_directory",
                    format!("{directory}: an https:// URL"),
                ));
            }
            if self.https_port.is_none() {
                return Err(Invalid::new(
                    "acme_directory",
                    "needs --https-port: certificates are for serving HTTPS",
                ));
            }
        }
        Ok(())
    }
}

impl HostSettings {
    /// The [`Config`] these settings make, with the guest runtime at
    /// `runtime` (found by the caller when the settings name none).
    pub fn into_config(self, runtime: PathBuf) -> Config {
        let mut config = Config::new(self.data_dir, runtime);
        config.bind = self.bind;
        config.port = self.port;
        config.backend = self.backend;
        config.limits.idle_timeout = Duration::from_secs(self.idle_seconds);
        config.limits.max_instances = self.max_instances;
        config.vcpus_per_core = self.vcpus_per_core;
        config.https_port = self.https_port;
        config.acme = self.acme_directory.map(|directory| acme::AcmeConfig {
            directory,
            ca_pem: self.acme_ca,
            contact: self.acme_contacts,
            renew_before: RENEW_BEFORE,
        });
        config
    }
}
