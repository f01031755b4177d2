//! `aether-cluster`: the whole Aether cluster on one machine, what
//! `aether up` runs. In one process, in this order:
//!
//! 1. keypairs under `<data-dir>/keys` (made once): the wallet of the dApp
//!    developer, the core operator, and each resource node's owner and
//!    identity;
//! 2. the localnet, bootstrapped, its ledger in `<data-dir>/localnet`,
//!    funding those keys and any others asked for;
//! 3. on chain, once: the core operator's staking node, activated by moving
//!    the local clock to the next epoch and closing it, and its core node
//!    record;
//! 4. the core node (`<data-dir>/node`), anchoring with the bootstrap
//!    authority and charging what senders hold (see `aether_node::charging`);
//! 5. the guest runtime (built once from the Debian kernel package, busybox
//!    and the static guest agent, under `<data-dir>/runtimes`);
//! 6. the resource nodes (one unless asked for more): each its provisioner
//!    and vm-host (`<data-dir>/crn`, then `crn-2`…), and its registry
//!    record;
//! 7. the indexer, settler, checker (with a reference program the operator
//!    posts and pays for, see [`reference`]) and, given a resolver, the dns
//!    keeper, run for the core operator (`<data-dir>/keepers`);
//! 8. the load balancer.
//!
//! Every part keeps its state in the data directory: a second `up` with the
//! same directory finds the chain and the nodes as they were.
//!
//! Layout: `config.rs` the [`Config`]; `error.rs` the [`ClusterError`];
//! `keys.rs` the [`Keys`]; `cluster.rs` the [`Cluster`] and [`run`];
//! `parts.rs` the stages and their stop; `resource.rs` each resource node's
//! settings and record; `guest.rs` the guest runtime; `chain.rs` and
//! `reference.rs` what is set up on chain and the checker's reference.
//!
//! ```no_run
//! # async fn demo() -> Result<(), aether_cluster::ClusterError> {
//! let mut config = aether_cluster::Config::new("/tmp/aether".into());
//! config.runtime = aether_cluster::RuntimeSource::Dir("/tmp/runtime".into());
//! let cluster = aether_cluster::Cluster::start(config, &|step| eprintln!("{step}")).await?;
//! println!("{}", cluster.summary());
//! cluster.stop().await;
//! # Ok(()) }
//! ```

pub mod chain;
mod cluster;
mod config;
mod error;
mod guest;
mod keys;
mod parts;
pub mod reference;
mod resource;

use std::path::PathBuf;

use aether_sdk::programs::client::ProgramClientError;

pub use cluster::{run, Cluster};
pub use config::{Config, Ports, RuntimeSource};
use error::part;
pub use error::ClusterError;
pub use keys::Keys;
pub use resource::VCPUS_PER_CORE;

/// Runs blocking program-client work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ProgramClientError> + Send + 'static,
) -> Result<T, ClusterError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(part("a blocking task"))?
        .map_err(ClusterError::Chain)
}

fn dir(path: PathBuf) -> Result<PathBuf, ClusterError> {
    std::fs::create_dir_all(&path).map_err(|e| ClusterError::Io(path.clone(), e))?;
    Ok(path)
}
