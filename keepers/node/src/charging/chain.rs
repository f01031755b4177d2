//! The chain as charging sees it: balances, and what open streams pay for.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::message::MessageType;
use aether_sdk::programs::client::AetherClient;

use super::ChargeError;

/// What open streams pay for: storage streams STOREs, compute streams
/// PROGRAMs and INSTANCEs, each by the message's item hash.
#[derive(Clone, Debug, Default)]
pub struct Paid {
    /// Resources of open storage streams that are not exhausted, with the
    /// most bytes one of them pays for.
    pub storage: HashMap<String, u64>,
    /// Resources of open compute streams that are not exhausted.
    pub compute: HashSet<String>,
}

impl Paid {
    /// Whether a stream of the right kind pays for message `item_hash`. A
    /// STORE is paid for only up to the size its stream states:
    /// `file_size` gives the stored file's (asked only then); a file not
    /// here yet is not covered.
    pub fn covers(
        &self,
        kind: MessageType,
        item_hash: &str,
        file_size: impl FnOnce() -> Option<u64>,
    ) -> bool {
        match kind {
            MessageType::Store => self
                .storage
                .get(item_hash)
                .is_some_and(|paid_for| file_size().is_some_and(|size| size <= *paid_for)),
            MessageType::Program | MessageType::Instance => self.compute.contains(item_hash),
            _ => false,
        }
    }
}

/// What streams paid for, and when that was read.
type ReadAt = (std::time::Instant, Arc<Paid>);

/// How long the streams read for a post are reused by the next posts.
const PAID_FRESH_FOR: Duration = Duration::from_secs(5);

/// The chain as charging sees it: balances and the streams that pay.
#[derive(Clone)]
pub struct Chain {
    client: Arc<AetherClient>,
    /// The streams last read for a post, and when.
    recent: Arc<std::sync::Mutex<Option<ReadAt>>>,
}

impl Chain {
    /// Reads through `rpc_url` (no transaction is ever signed).
    pub fn new(rpc_url: &str) -> Chain {
        Chain {
            client: Arc::new(AetherClient::new(rpc_url, solana_keypair::Keypair::new())),
            recent: Arc::default(),
        }
    }

    /// Base units of the stake token `address` holds; an address that is
    /// not a Solana key holds none.
    pub async fn balance(&self, address: &str) -> Result<u64, ChargeError> {
        let Ok(owner) = Pubkey::from_str(address) else {
            return Ok(0);
        };
        let client = self.client.clone();
        tokio::task::spawn_blocking(move || client.token_balance(&owner))
            .await
            .map_err(|e| ChargeError::Chain(e.to_string()))?
            .map_err(|e| ChargeError::Chain(e.to_string()))
    }

    /// What open streams that are not exhausted pay for, read now.
    pub async fn paid_by_streams(&self) -> Result<Paid, ChargeError> {
        let client = self.client.clone();
        let streams = tokio::task::spawn_blocking(move || client.streams())
            .await
            .map_err(|e| ChargeError::Chain(e.to_string()))?
            .map_err(|e| ChargeError::Chain(e.to_string()))?;
        let mut paid = Paid::default();
        for (_, stream) in streams.into_iter().filter(|(_, s)| !s.exhausted) {
            let resource = hex::encode(stream.resource);
            match stream.kind {
                aether_sdk::programs::escrow::StreamKind::Storage => {
                    let size = paid.storage.entry(resource).or_default();
                    *size = (*size).max(stream.size_bytes);
                }
                aether_sdk::programs::escrow::StreamKind::Compute => {
                    paid.compute.insert(resource);
                }
            }
        }
        Ok(paid)
    }

    /// The same, reused for a few seconds: posts in a burst read the
    /// streams once.
    pub(super) async fn paid_recently(&self) -> Result<Arc<Paid>, ChargeError> {
        if let Some((at, paid)) = self
            .recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            if at.elapsed() < PAID_FRESH_FOR {
                return Ok(paid);
            }
        }
        let paid = Arc::new(self.paid_by_streams().await?);
        *self.recent.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((std::time::Instant::now(), paid.clone()));
        Ok(paid)
    }
}
