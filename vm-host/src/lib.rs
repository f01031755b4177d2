//! `aether-vm-host`: the resource node's supervisor (`aether crn run`). It
//! boots micro-VMs from a content-addressed runtime ([`runtime`]) and
//! volumes ([`volumes`]) on a hypervisor backend ([`hypervisor`]: QEMU
//! microvm over QMP, or cloud-hypervisor over its REST API), talks to the
//! guest agent over one framed protocol ([`agent`]), and serves
//! `/vm/{item_hash}/…` by handing requests to the program inside
//! ([`router`], [`supervisor`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use aether_vm_host::{Config, Host};
//! let config = Config::new("/var/lib/aether/crn".into(), "/var/lib/aether/runtime/ID".into());
//! let host = Host::start(config).await?;
//! println!("serving on {}", host.url());
//! host.stop().await;
//! # Ok(()) }
//! ```
//!
//! Here: the [`Host`] handle. `backends.rs` which hypervisor and
//! [`doctor`], `config.rs` the [`Config`], `startup.rs` how the host
//! starts ([`HostError`]), `certificates.rs` the certificates of custom
//! domains, `programs.rs` the [`ProgramEntry`] of `--programs`.

pub mod acme;
pub mod agent;
pub mod capacity;
pub mod egress;
pub mod hypervisor;
pub mod kvm;
pub mod relay;
pub mod router;
pub mod runtime;
pub mod supervisor;
pub mod tls;
pub mod volumes;

mod backends;
mod certificates;
mod config;
mod programs;
mod startup;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use supervisor::Supervisor;

pub use backends::{backend, doctor, BackendChoice, BackendReport};
pub use config::{data_home, Config, HostSettings, RENEW_BEFORE};
pub use programs::{parse_grant, ProgramEntry, MAX_CODE_BYTES};
pub use startup::HostError;

/// A running resource node.
pub struct Host {
    supervisor: Arc<Supervisor>,
    /// The API, the HTTPS server, certificates and the idle loop.
    daemon: aether_keeper::Daemon,
    cache: volumes::Cache,
    _egress: Option<egress::Egress>,
    domains: router::Domains,
    certs: Arc<tls::CertStore>,
    https_addr: Option<SocketAddr>,
    domains_changed: Arc<tokio::sync::Notify>,
}

impl Host {
    /// Serves exactly these custom domains, each for its program (item
    /// hash); certificates are obtained for new ones when ACME is set up.
    pub fn set_domains(&self, domains: std::collections::HashMap<String, String>) {
        let mut current = self.domains.write().unwrap_or_else(|p| p.into_inner());
        if *current != domains {
            *current = domains;
            self.domains_changed.notify_one();
        }
    }

    /// Where HTTPS is served, if it is.
    pub fn https_addr(&self) -> Option<SocketAddr> {
        self.https_addr
    }

    /// The certificates of custom domains.
    pub fn certs(&self) -> &Arc<tls::CertStore> {
        &self.certs
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        self.daemon.url()
    }

    /// The programs and VMs.
    pub fn supervisor(&self) -> &Arc<Supervisor> {
        &self.supervisor
    }

    /// A volume by content id: from the cache, or fetched from the core
    /// node at `node_url` and checked (at most [`MAX_CODE_BYTES`]).
    pub async fn volume(&self, node_url: &str, id: &str) -> Result<PathBuf, volumes::VolumeError> {
        let node = aether_sdk::node_client::NodeClient::new(node_url);
        self.cache.fetch(&node, id, MAX_CODE_BYTES).await
    }

    /// Stops taking requests, stops every VM, then waits for every task.
    pub async fn stop(self) {
        self.daemon.signal_stop();
        self.supervisor.stop().await;
        self.daemon.stop().await;
    }
}
