//! Errors a user of the anchors program can act on.

use anchor_lang::prelude::*;

#[error_code]
pub enum AnchorsError {
    #[msg("Only the config authority may do this")]
    Unauthorized,
    #[msg("The allowlist holds at most 16 submitters")]
    AllowlistFull,
    #[msg("Only an active core node or an allowlisted key may anchor: pass the staking config, the submitter's staking node and its registry record")]
    NotAllowed,
    #[msg("A batch holds at least one message")]
    EmptyBatch,
    #[msg("The content id must be 1 to 64 bytes")]
    InvalidContentId,
    #[msg("The item hash must be 1 to 128 bytes")]
    InvalidItemHash,
    #[msg("That batch is not in the window of recent roots")]
    SeqNotInWindow,
    #[msg("The proof does not put this item in that batch")]
    InvalidProof,
    #[msg("Arithmetic overflow")]
    Overflow,
    #[msg("The batch log account is not laid out as a log of its size")]
    BadLog,
    #[msg("Only the authority proposed with update_config may accept it")]
    NotPendingAuthority,
    #[msg("Only the program's upgrade authority (from its ProgramData account) may initialize it")]
    NotUpgradeAuthority,
}
