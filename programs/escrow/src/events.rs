//! One event per state change, emitted with `emit_cpi!`.

use anchor_lang::prelude::*;

use crate::state::{ServePolicy, StreamKind};

#[event]
pub struct EscrowInitialized {
    pub authority: Pubkey,
    pub mint: Pubkey,
}

#[event]
pub struct StreamOpened {
    pub stream: Pubkey,
    pub owner: Pubkey,
    pub resource: [u8; 32],
    pub kind: StreamKind,
    pub max_rate_per_second: u64,
    pub replicas: u8,
    pub deposit: u64,
    /// Clock time of opening; accrual starts here.
    pub opened_at: i64,
    pub serve: ServePolicy,
    pub allowed: Vec<Pubkey>,
    pub size_bytes: u64,
}

#[event]
pub struct StreamToppedUp {
    pub stream: Pubkey,
    pub amount: u64,
    pub balance: u64,
}

#[event]
pub struct ProviderJoined {
    pub stream: Pubkey,
    pub provider: Pubkey,
    pub providers: u8,
}

#[event]
pub struct ProviderLeft {
    pub stream: Pubkey,
    pub provider: Pubkey,
    /// True when the owner removed it.
    pub removed: bool,
    pub providers: u8,
}

#[event]
pub struct ProvidersAllowed {
    pub stream: Pubkey,
    pub allowed: Vec<Pubkey>,
}

#[event]
pub struct StreamSettled {
    pub stream: Pubkey,
    /// Paid to each provider, in slot order.
    pub paid: Vec<u64>,
    pub settled_until: i64,
}

/// The vault could not pay what accrued: nodes stop serving the resource.
#[event]
pub struct StreamExhausted {
    pub stream: Pubkey,
    pub resource: [u8; 32],
}

#[event]
pub struct StreamClosed {
    pub stream: Pubkey,
    pub refund: u64,
}

#[event]
pub struct EscrowAuthorityAccepted {
    pub previous: Pubkey,
    pub authority: Pubkey,
}

#[event]
pub struct EscrowConfigUpdated {
    pub authority: Pubkey,
    /// The authority proposed and not yet accepted, if any.
    pub pending_authority: Option<Pubkey>,
}
