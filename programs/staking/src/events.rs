//! One event per state change, emitted with `emit_cpi!` so that indexers read it
//! from the self-CPI's inner instruction.

use anchor_lang::prelude::*;

use crate::state::{NodeStatus, Params};

#[event]
pub struct Initialized {
    pub authority: Pubkey,
    pub stake_mint: Pubkey,
    pub params: Params,
    pub epoch_started_at: i64,
}

#[event]
pub struct ConfigUpdated {
    pub authority: Pubkey,
    /// Parameters that apply from the next epoch, if any were set.
    pub pending_params: Option<Params>,
    /// The authority proposed and not yet accepted, if any.
    pub pending_authority: Option<Pubkey>,
}

#[event]
pub struct StakingAuthorityAccepted {
    pub previous: Pubkey,
    pub authority: Pubkey,
}

#[event]
pub struct RewardsFunded {
    pub funder: Pubkey,
    pub amount: u64,
    /// Tokens found in the vault that were sent without `fund_rewards`,
    /// counted as funded with this call.
    pub donated: u64,
    pub total_funded: u64,
}

#[event]
pub struct NodeCreated {
    pub node: Pubkey,
    pub operator: Pubkey,
    pub stake: u64,
}

#[event]
pub struct NodeStatusChanged {
    pub node: Pubkey,
    pub status: NodeStatus,
    /// For a pending node, the epoch from which it is active.
    pub activation_epoch: u64,
    pub total_stake: u64,
}

#[event]
pub struct Staked {
    pub node: Pubkey,
    pub staker: Pubkey,
    pub amount: u64,
    /// The position's stake, earning or not yet.
    pub position_amount: u64,
    pub node_total_stake: u64,
    /// The first epoch whose rewards this stake shares: on an active node
    /// the next one, as stake added mid-epoch did not back the epoch.
    pub earning_from_epoch: u64,
}

#[event]
pub struct UnstakeRequested {
    pub node: Pubkey,
    pub staker: Pubkey,
    pub amount: u64,
    pub available_at: i64,
    pub node_total_stake: u64,
}

#[event]
pub struct Withdrawn {
    pub node: Pubkey,
    pub staker: Pubkey,
    pub amount: u64,
}

#[event]
pub struct EpochCranked {
    pub epoch: u64,
    pub closed_at: i64,
    pub active_nodes: u32,
    pub active_stake: u64,
    pub operator_booked: u64,
    pub staker_booked: u64,
    pub next_epoch_active_nodes: u32,
}

#[event]
pub struct RewardsClaimed {
    pub node: Pubkey,
    pub claimer: Pubkey,
    pub operator_amount: u64,
    pub staker_amount: u64,
    /// What stays owed because the vault could not pay it all.
    pub still_owed: u64,
}

#[event]
pub struct NodeClosed {
    pub node: Pubkey,
    pub operator: Pubkey,
    pub total_stake: u64,
}
