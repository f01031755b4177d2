//! A resource node's settings and their defaults.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::supervisor::Limits;
use crate::{acme, egress, BackendChoice};

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
