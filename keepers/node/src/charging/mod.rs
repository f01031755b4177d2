//! Paying by holding tokens. With charging on, what an address keeps on
//! this node costs part of the stake token it holds on chain: a STORE its
//! file's MiB, a PROGRAM its vCPUs and MiB of memory, an INSTANCE those and
//! its root file system's MiB, at the prices of [`Costs`]. Holding is not
//! spending: nothing moves, the balance only has to cover the sum.
//!
//! - **On posting**, a message whose cost the sender's balance cannot cover
//!   on top of what it already uses is refused with the shortfall named,
//!   and nothing is stored. (A STORE whose file is not here yet, or content
//!   stored apart, cannot be priced then: the next round counts it.)
//! - **Each round**, an address whose balance fell below what it uses has
//!   its newest content marked `removing`, as much as needed to fit, with a
//!   time to collect it after [`ChargingConfig::grace`]; when the balance
//!   recovers the marks are lifted; past that time the content is
//!   `removed` and its files unpinned, so the file collector deletes them.
//! - **Exempt**: content paid by a stream: a STORE whose item hash is the
//!   resource of an open storage stream that is not exhausted, a PROGRAM
//!   or INSTANCE that is the resource of such a compute stream, and a
//!   PROGRAM or INSTANCE whose payment is a stream (`superfluid`).
//!
//! An address's posts are checked and written one at a time
//! ([`Charging::turn`]), so two racing posts that each fit the balance
//! alone cannot both be taken. Each message is priced once ([`Prices`]):
//! pricing an address reads its list of held messages, not their content.
//!
//! Layout: this file the settings, errors and [`Charging`] with its turns;
//! `pricing.rs` what content costs and what an address holds; `chain.rs`
//! balances and the streams that pay; `check.rs` the check of a post;
//! `rounds.rs` the rounds; `reads.rs` the SQL reads they share;
//! `account.rs` what the API shows of an address and a price.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aether_sdk::message::Content;

use crate::store::StoreError;

mod account;
mod chain;
mod check;
mod pricing;
mod reads;
mod rounds;

pub use chain::{Chain, Paid};
pub use check::Shortfall;
pub use pricing::{cost, holdings, stream_declared, Held, Prices};
pub use rounds::plan;

const MIB: u64 = 1024 * 1024;

/// Prices, in base units of the stake token held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Costs {
    /// Per MiB stored (a STORE's file, an instance's root file system);
    /// a part of a MiB counts whole.
    pub per_mib_stored: u64,
    /// Per vCPU of a PROGRAM or INSTANCE.
    pub per_vcpu: u64,
    /// Per MiB of memory of a PROGRAM or INSTANCE.
    pub per_mib_memory: u64,
}

impl Default for Costs {
    /// With a 6-decimal token: 0.001 token per MiB stored, 1 token per
    /// vCPU, 0.001 token per MiB of memory.
    fn default() -> Self {
        Costs {
            per_mib_stored: 1_000,
            per_vcpu: 1_000_000,
            per_mib_memory: 1_000,
        }
    }
}

/// How the node charges.
#[derive(Clone, Debug)]
pub struct ChargingConfig {
    /// JSON-RPC URL of the cluster whose balances count.
    pub rpc_url: String,
    /// The prices.
    pub costs: Costs,
    /// How long content marked for collection waits for the balance to
    /// recover.
    pub grace: Duration,
    /// Time between rounds.
    pub interval: Duration,
}

impl ChargingConfig {
    /// Default prices, a day's grace, a round a minute.
    pub fn new(rpc_url: impl Into<String>) -> Self {
        ChargingConfig {
            rpc_url: rpc_url.into(),
            costs: Costs::default(),
            grace: Duration::from_secs(86_400),
            interval: Duration::from_secs(60),
        }
    }
}

/// Why a price or a balance could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ChargeError {
    /// A cost that does not fit in 64 bits.
    #[error("the cost of {0} overflows")]
    Overflow(String),
    /// The chain did not answer.
    #[error("reading the chain: {0}")]
    Chain(String),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer did not apply the changes.
    #[error("writing: {0}")]
    Writer(#[from] crate::writer::WriteError),
}

fn overflow(what: &str) -> ChargeError {
    ChargeError::Overflow(what.to_owned())
}

/// Charging, as the API and the rounds use it.
#[derive(Clone)]
pub struct Charging {
    /// Its settings.
    pub config: ChargingConfig,
    chain: Chain,
    /// One lock per address with a post being checked or written.
    turns: Arc<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// Prices of held messages, at `config.costs`.
    prices: Arc<Prices>,
}

/// An address's turn to post: held from the check until the write is
/// committed.
pub type Turn = tokio::sync::OwnedMutexGuard<()>;

impl Charging {
    /// Charging against the chain at `config.rpc_url`.
    pub fn new(config: ChargingConfig) -> Charging {
        let chain = Chain::new(&config.rpc_url);
        Charging {
            config,
            chain,
            turns: Arc::default(),
            prices: Arc::default(),
        }
    }

    /// Waits for the turn of `content`'s address (`None` for content
    /// with no address or that costs nothing to hold). Hold it across the
    /// check and the write: otherwise two posts could each be checked
    /// against the content held before either.
    pub async fn turn(&self, content: &Content) -> Option<Turn> {
        if !pricing::held_kind(content) {
            return None;
        }
        let address = content.address()?;
        let lock = {
            let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
            // Locks no post holds or waits for are dropped as others come.
            turns.retain(|_, lock| Arc::strong_count(lock) > 1);
            turns.entry(address.to_owned()).or_default().clone()
        };
        Some(lock.lock_owned().await)
    }
}
