//! Proof that a message was anchored on chain: the message is a leaf of a
//! batch whose merkle root the anchors program holds.
//!
//! A core node groups the messages it accepted into batches, writes each
//! batch's root with `submit_batch`, and gives every message its
//! [`AnchoredProof`] (batch `seq`, leaf index, siblings). Anyone holding the
//! message and the proof checks it against the chain with
//! [`verify_anchored`]; the tree itself is [`merkle`], shared with the program.

pub use aether_anchors::merkle::{self, Hash32, MerkleProof};
pub use aether_anchors::state::BatchEntry;

use aether_anchors::state::BatchLog;
use anchor_lang::prelude::Pubkey;
use serde::{Deserialize, Serialize};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;

use crate::message::{Message, MessageError};
use crate::programs::anchors;

/// Where a message sits among the anchored batches, and who vouches for
/// it. As JSON: `{"submitter": "<base58>", "seq": 7, "index": 3,
/// "siblings": ["<64 hex>", …]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchoredProof {
    /// The key that anchored the batch (a core node's operator): its log
    /// holds the root.
    pub submitter: String,
    /// The batch's sequence number in the anchors program.
    pub seq: u64,
    /// The leaf's index in the batch.
    pub index: u32,
    /// Sibling hashes from the leaf up, in hex.
    pub siblings: Vec<String>,
}

impl AnchoredProof {
    /// The proof of `leaves[index]` in batch `seq` anchored by `submitter`
    /// (leaves from [`leaf_of`]).
    pub fn build(
        submitter: &Pubkey,
        seq: u64,
        leaves: &[Hash32],
        index: usize,
    ) -> Option<AnchoredProof> {
        let proof = merkle::proof(leaves, index)?;
        Some(AnchoredProof {
            submitter: submitter.to_string(),
            seq,
            index: proof.index,
            siblings: proof.siblings.iter().map(hex::encode).collect(),
        })
    }

    /// The key that anchored the batch.
    pub fn submitter(&self) -> Result<Pubkey, ProofError> {
        self.submitter
            .parse()
            .map_err(|_| ProofError::Malformed("the submitter is a base58 key"))
    }

    /// The proof in the program's own form.
    pub fn merkle_proof(&self) -> Result<MerkleProof, ProofError> {
        let siblings = self
            .siblings
            .iter()
            .map(|s| {
                hex::decode(s)
                    .ok()
                    .and_then(|b| <Hash32>::try_from(b).ok())
                    .ok_or(ProofError::Malformed("a sibling is 64 hex digits"))
            })
            .collect::<Result<_, _>>()?;
        Ok(MerkleProof {
            index: self.index,
            siblings,
        })
    }
}

/// The leaf of a message in a batch: from its item hash, as it travels.
pub fn leaf_of(message: &Message) -> Hash32 {
    merkle::leaf_hash(message.item_hash.as_bytes())
}

/// Why a message could not be shown to be anchored.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// The message itself does not verify.
    #[error("the message is not valid: {0}")]
    Message(#[from] MessageError),
    /// The proof is not well formed.
    #[error("malformed proof: {0}")]
    Malformed(&'static str),
    /// The chain could not be read.
    #[error("reading the anchors program: {0}")]
    Rpc(String),
    /// The batch is not (or no longer) in its submitter's window.
    #[error("batch {seq} is not in {submitter}'s anchors window (its last batch is {last})")]
    NotInWindow {
        /// The batch asked for.
        seq: u64,
        /// Whose log was read.
        submitter: String,
        /// The submitter's last batch.
        last: u64,
    },
    /// The proof does not lead from the message to the batch's root.
    #[error("the message is not in batch {seq}")]
    NotIncluded {
        /// The batch.
        seq: u64,
    },
}

/// Checks `message` (hash and signature), then that `proof` leads from it
/// to the root the anchors program holds for batch `proof.seq`. Returns
/// that batch's entry (root, leaf count, slot and time of anchoring).
///
/// ```no_run
/// # async fn example(message: aether_sdk::message::Message, proof: aether_sdk::proof::AnchoredProof) {
/// use aether_sdk::proof::verify_anchored;
/// use solana_rpc_client::nonblocking::rpc_client::RpcClient;
///
/// let rpc = RpcClient::new("http://127.0.0.1:8899".to_string());
/// let batch = verify_anchored(&message, &proof, &rpc).await.unwrap();
/// println!("anchored at slot {}", batch.slot);
/// # }
/// ```
pub async fn verify_anchored(
    message: &Message,
    proof: &AnchoredProof,
    rpc: &RpcClient,
) -> Result<BatchEntry, ProofError> {
    message.verify()?;
    let merkle_proof = proof.merkle_proof()?;
    let submitter = proof.submitter()?;
    let account = rpc
        .get_account(&anchors::log(&submitter))
        .await
        .map_err(|e| ProofError::Rpc(e.to_string()))?;
    // Only the program's own account at the submitter's address counts.
    let log = (account.owner == aether_anchors::ID)
        .then(|| BatchLog::decode(&account.data).ok())
        .flatten()
        .filter(|log| log.submitter == submitter)
        .ok_or_else(|| ProofError::Rpc("the batch log does not decode".into()))?;
    let entry = *log.get(proof.seq).ok_or_else(|| ProofError::NotInWindow {
        seq: proof.seq,
        submitter: proof.submitter.clone(),
        last: log.last_seq(),
    })?;
    if merkle::verify(&entry.root, entry.count, &leaf_of(message), &merkle_proof) {
        Ok(entry)
    } else {
        Err(ProofError::NotIncluded { seq: proof.seq })
    }
}
