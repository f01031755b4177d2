//! Why the cluster did not start.

use std::path::PathBuf;

use aether_sdk::programs::client::ProgramClientError;

/// Why the cluster did not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A file or directory of the data directory.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// A keypair file.
    #[error("keypair {0}: {1}")]
    Keypair(PathBuf, String),
    /// The static guest agent is missing.
    #[error("no guest agent at {0}: build it with RUSTFLAGS='-C target-feature=+crt-static' cargo build --release -p aether-guest --target x86_64-unknown-linux-gnu, then pass its path")]
    NoAgent(PathBuf),
    /// A part did not start; the parts started before it were stopped.
    #[error("starting {part}: {why}")]
    Part {
        /// Which part.
        part: &'static str,
        /// Why.
        why: String,
    },
    /// Setting up the chain.
    #[error("on chain: {0}")]
    Chain(#[from] ProgramClientError),
    /// Asked to stop before every part was up.
    #[error("stopped before the cluster was up")]
    Interrupted,
}

pub(crate) fn part<E: std::fmt::Display>(part: &'static str) -> impl FnOnce(E) -> ClusterError {
    move |e| ClusterError::Part {
        part,
        why: e.to_string(),
    }
}
