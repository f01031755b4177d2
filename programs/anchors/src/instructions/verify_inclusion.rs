use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::AnchorsError;
use crate::merkle::{self, MerkleProof};
use crate::state::BatchLog;

#[derive(Accounts)]
pub struct VerifyInclusion<'info> {
    /// The log of the submitter that anchored the batch (seeds checked
    /// against the submitter it names).
    #[account(
        seeds = [SEED_LOG, log.load()?.submitter.as_ref()],
        bump = log.load()?.bump,
    )]
    pub log: AccountLoader<'info, BatchLog>,
}

impl<'info> VerifyInclusion<'info> {
    /// Succeeds only when `item_hash` is in batch `seq` and that batch is still
    /// in the window; changes nothing, so other programs can CPI into it.
    pub fn handler(
        ctx: Context<Self>,
        seq: u64,
        item_hash: Vec<u8>,
        proof: MerkleProof,
    ) -> Result<()> {
        require!(
            !item_hash.is_empty() && item_hash.len() <= MAX_ITEM_HASH_LEN as usize,
            AnchorsError::InvalidItemHash
        );
        let data = ctx.accounts.log.as_ref().try_borrow_data()?;
        let (_, entries) = BatchLog::split(&data)?;
        let entry = BatchLog::get(entries, seq).ok_or(AnchorsError::SeqNotInWindow)?;
        let leaf = merkle::leaf_hash(&item_hash);
        require!(
            merkle::verify(&entry.root, entry.count, &leaf, &proof),
            AnchorsError::InvalidProof
        );
        Ok(())
    }
}
