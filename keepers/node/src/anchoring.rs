//! Anchoring: every few seconds, the processed messages no batch holds yet
//! become a batch file (stored and served like any file), and the merkle
//! root of their item hashes goes on chain with the anchors program's
//! `submit_batch`. Proofs are then served at
//! `GET /api/v0/messages/{hash}/proof`.

use std::path::PathBuf;
use std::time::Duration;

use aether_sdk::anchors_program::state::BatchLog;
use aether_sdk::programs::{anchors, staking};
use aether_sdk::proof::merkle;
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;
use tokio::sync::watch;

use crate::files::ContentStore;
use crate::store::{self, Readers};
use crate::writer::{AnchoredBatch, Writer};

/// How the node anchors.
#[derive(Clone, Debug)]
pub struct AnchorConfig {
    /// JSON-RPC URL of the cluster.
    pub rpc_url: String,
    /// The key that signs `submit_batch`: an active core node's operator,
    /// or a key on the anchors allowlist.
    pub keypair: PathBuf,
    /// Time between batches.
    pub interval: Duration,
    /// Most messages in one batch.
    pub max_messages: usize,
}

impl AnchorConfig {
    /// A batch every 10 s, of 10,000 messages at most, signed by `keypair`
    /// on the cluster at `rpc_url`.
    pub fn new(rpc_url: impl Into<String>, keypair: impl Into<PathBuf>) -> Self {
        AnchorConfig {
            rpc_url: rpc_url.into(),
            keypair: keypair.into(),
            interval: Duration::from_secs(10),
            max_messages: 10_000,
        }
    }
}

/// Why a batch was not anchored (it is retried at the next interval).
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    /// The chain could not be reached or refused the transaction.
    #[error("chain: {0}")]
    Chain(String),
    /// Local storage.
    #[error("storage: {0}")]
    Local(String),
    /// The node's writer.
    #[error(transparent)]
    Write(#[from] crate::writer::WriteError),
}

pub(crate) struct Anchorer {
    pub config: AnchorConfig,
    pub key: Keypair,
    pub readers: Readers,
    pub writer: Writer,
    pub files: ContentStore,
}

impl Anchorer {
    /// Anchors at every interval until the node stops.
    pub async fn run(self, mut stopping: watch::Receiver<bool>) {
        let rpc = RpcClient::new_with_commitment(
            self.config.rpc_url.clone(),
            CommitmentConfig::confirmed(),
        );
        tracing::info!(submitter = %self.key.pubkey(), rpc = %self.config.rpc_url, "anchoring every {:?}", self.config.interval);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.config.interval) => {}
                _ = stopping.changed() => return,
            }
            let span = tracing::info_span!("anchor");
            let _enter = span.enter();
            match self.anchor_once(&rpc).await {
                Ok(Some((seq, count))) => tracing::info!(seq, count, "batch anchored"),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "anchoring failed; retrying at the next interval")
                }
            }
        }
    }

    /// Anchors one batch of what is not anchored yet; `None` when nothing is waiting.
    pub async fn anchor_once(&self, rpc: &RpcClient) -> Result<Option<(u64, u32)>, AnchorError> {
        let limit = self.config.max_messages;
        let waiting = self
            .readers
            .with(move |c| store::unanchored(c, limit))
            .await
            .map_err(|e| AnchorError::Local(e.to_string()))?;
        if waiting.is_empty() {
            return Ok(None);
        }
        let hashes: Vec<String> = waiting.iter().map(|(h, _)| h.clone()).collect();
        let leaves: Vec<_> = hashes
            .iter()
            .map(|h| merkle::leaf_hash(h.as_bytes()))
            .collect();
        let root = merkle::root(&leaves).expect("a batch is never empty");
        let file = json!({
            "version": 1,
            "root": hex::encode(root),
            "messages": waiting.iter().map(|(_, m)| m).collect::<Vec<_>>(),
        });
        let written = self
            .files
            .put(file.to_string().as_bytes(), u64::MAX)
            .await
            .map_err(|e| AnchorError::Local(e.to_string()))?;
        self.writer.file(written.clone()).await?;

        let submitter = self.key.pubkey();
        let chain =
            |e: solana_rpc_client_api::client_error::Error| AnchorError::Chain(e.to_string());
        // An operator with a staking node anchors as a core node; any
        // other key must be on the allowlist.
        let as_core_node = rpc
            .get_account_with_commitment(&staking::node(&submitter), CommitmentConfig::confirmed())
            .await
            .map_err(chain)?
            .value
            .is_some();
        let count = hashes.len() as u32;
        let ix = anchors::submit_batch(
            submitter,
            as_core_node,
            root,
            count,
            written.cid_v0.as_bytes().to_vec(),
        );
        let blockhash = rpc.get_latest_blockhash().await.map_err(chain)?;
        let tx =
            Transaction::new_signed_with_payer(&[ix], Some(&submitter), &[&self.key], blockhash);
        let signature = rpc.send_and_confirm_transaction(&tx).await.map_err(chain)?;
        let data = rpc
            .get_account_data(&anchors::log(&submitter))
            .await
            .map_err(chain)?;
        let log = BatchLog::decode(&data)
            .map_err(|e| AnchorError::Chain(format!("the batch log does not decode: {e}")))?;
        let seq = log
            .entries
            .iter()
            .filter(|e| e.root == root && e.count == count && e.submitter == submitter)
            .map(|e| e.seq)
            .max()
            .ok_or_else(|| {
                AnchorError::Chain("the batch is not in the log after confirmation".into())
            })?;
        self.writer
            .anchored(AnchoredBatch {
                submitter: submitter.to_string(),
                seq,
                root: hex::encode(root),
                file: written.sha256,
                cid: written.cid_v0,
                signature: signature.to_string(),
                item_hashes: hashes,
            })
            .await?;
        Ok(Some((seq, count)))
    }
}
