/// What can go wrong starting, bootstrapping or stopping a localnet.
#[derive(Debug, thiserror::Error)]
pub enum LocalnetError {
    #[error("the RPC port must leave room for the WebSocket port after it (got {0})")]
    BadPort(u16),
    #[error("cannot create the ledger directory {0}: {1}")]
    Ledger(std::path::PathBuf, std::io::Error),
    #[error("the Solana runtime could not be set up: {0}")]
    Engine(String),
    #[error("the localnet stopped before it was ready: {0}")]
    Aborted(String),
    #[error("the localnet did not become ready within {0} seconds")]
    StartTimeout(u64),
    #[error("bootstrap failed at {step}: {source}")]
    Bootstrap {
        step: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot read or write {0}: {1}")]
    File(std::path::PathBuf, std::io::Error),
}
