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
use serde::{Deserialize, Serialize};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;

use crate::message::{Message, MessageError};
use crate::programs::anchors;

/// Where a message sits among the anchored batches. As JSON:
/// `{"seq": 7, "index": 3, "siblings": ["<64 hex>", …]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchoredProof {
    /// The batch's sequence number in the anchors program.
    pub seq: u64,
    /// The leaf's index in the batch.
    pub index: u32,
    /// Sibling hashes from the leaf up, in hex.
    pub siblings: Vec<String>,
}

impl AnchoredProof {
    /// The proof of `leaves[index]` in batch `seq` (leaves from [`leaf_of`]).
    pub fn build(seq: u64, leaves: &[Hash32], index: usize) -> Option<AnchoredProof> {
        let proof = merkle::proof(leaves, index)?;
        Some(AnchoredProof {
            seq,
            index: proof.index,
            siblings: proof.siblings.iter().map(hex::encode).collect(),
        })
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
    /// The batch is not (or no longer) in the program's window.
    #[error("batch {seq} is not in the anchors window (last batch is {last})")]
    NotInWindow {
        /// The batch asked for.
        seq: u64,
        /// The last batch anchored.
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
    let data = rpc
        .get_account_data(&anchors::log())
        .await
        .map_err(|e| ProofError::Rpc(e.to_string()))?;
    let log = BatchLog::decode(&data)
        .map_err(|e| ProofError::Rpc(format!("the batch log does not decode: {e}")))?;
    let entry = *log.get(proof.seq).ok_or(ProofError::NotInWindow {
        seq: proof.seq,
        last: log.last_seq,
    })?;
    if merkle::verify(&entry.root, entry.count, &leaf_of(message), &merkle_proof) {
        Ok(entry)
    } else {
        Err(ProofError::NotIncluded { seq: proof.seq })
    }
}
