//! Aether anchors: core nodes commit batches of off-chain message hashes, and
//! anyone proves a message was committed.
//!
//! Layout: `merkle.rs` the batch tree (shared with the SDK and the node),
//! `instructions/` one file per instruction, `state/` the config and the log
//! of recent roots, `events.rs`, `errors.rs`, `constants.rs`.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod constants;
pub mod errors;
pub mod events;
pub mod instructions;
pub mod merkle;
pub mod state;

pub use instructions::*;
use merkle::MerkleProof;

declare_id!("8UGbhqYrF4RxCezyDcdcXctdFBrVQgq36Xy3NmNd9hZn");

#[program]
pub mod aether_anchors {
    use super::*;

    /// Creates the config (with a bootstrap allowlist).
    pub fn initialize(ctx: Context<Initialize>, allowlist: Vec<Pubkey>) -> Result<()> {
        Initialize::handler(ctx, allowlist)
    }

    /// Authority only: changes the allowlist and/or proposes a new authority.
    pub fn update_config(ctx: Context<UpdateConfig>, args: UpdateConfigArgs) -> Result<()> {
        UpdateConfig::handler(ctx, args)
    }

    /// The authority proposed by `update_config` takes over.
    pub fn accept_authority(ctx: Context<AcceptAuthority>) -> Result<()> {
        AcceptAuthority::handler(ctx)
    }

    /// An active core node (or an allowlisted key) anchors the next batch
    /// in its own log (created with its first batch).
    pub fn submit_batch(
        ctx: Context<SubmitBatch>,
        root: [u8; 32],
        count: u32,
        content_id: Vec<u8>,
    ) -> Result<()> {
        SubmitBatch::handler(ctx, root, count, content_id)
    }

    /// Succeeds only if `item_hash` is in batch `seq` of the log passed,
    /// while its root is in that submitter's window.
    pub fn verify_inclusion(
        ctx: Context<VerifyInclusion>,
        seq: u64,
        item_hash: Vec<u8>,
        proof: MerkleProof,
    ) -> Result<()> {
        VerifyInclusion::handler(ctx, seq, item_hash, proof)
    }
}

/// The committed `idl/aether_anchors.json` matches the program.
#[cfg(all(test, feature = "idl-build"))]
mod idl {
    #[test]
    fn committed_idl_is_current() {
        aether_idl_check::check_committed(env!("CARGO_MANIFEST_DIR"), "aether_anchors");
    }
}
