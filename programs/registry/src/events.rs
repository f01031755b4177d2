//! One event per state change, emitted with `emit_cpi!`.

use anchor_lang::prelude::*;

use crate::state::{Capacity, DomainStatus, NodeKind};

#[event]
pub struct RegistryInitialized {
    pub authority: Pubkey,
    pub quorum_bps: u16,
}

#[event]
pub struct RegistryConfigUpdated {
    pub authority: Pubkey,
    pub quorum_bps: u16,
    /// The authority proposed and not yet accepted, if any.
    pub pending_authority: Option<Pubkey>,
}

#[event]
pub struct CoreNodeRegistered {
    pub record: Pubkey,
    pub staking_node: Pubkey,
    pub operator: Pubkey,
    pub endpoint: String,
    pub p2p_address: String,
}

#[event]
pub struct ResourceNodeRegistered {
    pub record: Pubkey,
    pub node_id: Pubkey,
    pub owner: Pubkey,
    pub parent: Pubkey,
    pub endpoint: String,
    pub capacity: Capacity,
    pub min_price_compute_per_second: u64,
    pub min_price_storage_per_gb_month: u64,
}

#[event]
pub struct NodeUpdated {
    pub record: Pubkey,
    pub kind: NodeKind,
    pub endpoint: String,
    pub p2p_address: String,
    pub capacity: Capacity,
    pub min_price_compute_per_second: u64,
    pub min_price_storage_per_gb_month: u64,
}

#[event]
pub struct NodeDeregistered {
    pub record: Pubkey,
    pub kind: NodeKind,
    pub owner: Pubkey,
}

#[event]
pub struct ScoreReported {
    pub record: Pubkey,
    pub reporter: Pubkey,
    pub epoch: u64,
    pub score: u16,
    /// Distinct reports for this node in this epoch, this one included.
    pub reports_this_epoch: u32,
    pub quorum: u32,
}

#[event]
pub struct ScoreUpdated {
    pub record: Pubkey,
    pub epoch: u64,
    /// The median of the epoch's reports.
    pub score: u16,
    pub reports: u32,
}

#[event]
pub struct DomainRequested {
    pub binding: Pubkey,
    pub domain: String,
    pub target: [u8; 32],
    pub owner: Pubkey,
}

#[event]
pub struct DomainAttested {
    pub binding: Pubkey,
    /// The attesting core node's staking node.
    pub attester: Pubkey,
    pub ok: bool,
    pub approvals: u32,
    pub rejections: u32,
    pub quorum: u32,
}

#[event]
pub struct DomainStatusChanged {
    pub binding: Pubkey,
    pub domain: String,
    pub target: [u8; 32],
    pub status: DomainStatus,
}

#[event]
pub struct RegistryAuthorityAccepted {
    pub previous: Pubkey,
    pub authority: Pubkey,
}
