//! One event per state change, emitted with `emit_cpi!`.

use anchor_lang::prelude::*;

#[event]
pub struct AnchorsInitialized {
    pub authority: Pubkey,
    pub allowlist: Vec<Pubkey>,
}

#[event]
pub struct AnchorsConfigUpdated {
    pub authority: Pubkey,
    pub allowlist: Vec<Pubkey>,
    /// The authority proposed and not yet accepted, if any.
    pub pending_authority: Option<Pubkey>,
}

#[event]
pub struct BatchAnchored {
    pub seq: u64,
    pub root: [u8; 32],
    pub count: u32,
    pub content_id: Vec<u8>,
    pub submitter: Pubkey,
}

#[event]
pub struct AnchorsAuthorityAccepted {
    pub previous: Pubkey,
    pub authority: Pubkey,
}
