//! Aether staking: core-node stake, stakers and daily reward epochs.
//!
//! Layout: `instructions/` holds one file per instruction (its accounts,
//! checks and handler), `state/` the accounts, `events.rs` one event per state
//! change, `errors.rs` the errors, `constants.rs` seeds, limits and defaults.
//!
//! Rewards are booked in O(1) per epoch with reward-per-share accumulators:
//! `Config::acc_operator` (per active node) and `Config::acc_staker` (per unit
//! of active stake). A node copies the staker accumulator's growth into its own
//! `acc_per_share` only while active, so its stakers earn only then. A node
//! that becomes active at an epoch boundary starts from the accumulators saved
//! in that epoch's `EpochRecord`, so the crank never visits a node.
//!
//! Stake added to an active node mid-epoch did not back that epoch: it is
//! incoming (`Config::incoming_stake`, `Node::incoming`,
//! `StakePosition::incoming`) and earns from the next epoch. The position
//! skips the closed epoch's `EpochRecord::staker_increment` when it next
//! settles, unless the node left the active set in that epoch (a `Forfeit`
//! says so), in which case the node itself earned nothing then.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod constants;
pub mod errors;
pub mod events;
pub mod instructions;
mod math;
pub mod state;
mod vault;

pub use instructions::*;

declare_id!("EwWbe46P6axn4jiUDGqadu9k5bKMptbAJzFTHZN6gBog");

#[program]
pub mod aether_staking {
    use super::*;

    /// Creates the config and the stake and reward vaults for `stake_mint`.
    pub fn initialize(ctx: Context<Initialize>, params: state::Params) -> Result<()> {
        Initialize::handler(ctx, params)
    }

    /// Authority only: sets parameters for the next epoch and/or proposes a new authority.
    pub fn update_config(ctx: Context<UpdateConfig>, args: UpdateConfigArgs) -> Result<()> {
        UpdateConfig::handler(ctx, args)
    }

    /// The authority proposed by `update_config` takes over.
    pub fn accept_authority(ctx: Context<AcceptAuthority>) -> Result<()> {
        AcceptAuthority::handler(ctx)
    }

    /// Anyone adds tokens to the reward vault.
    pub fn fund_rewards(ctx: Context<FundRewards>, amount: u64) -> Result<()> {
        FundRewards::handler(ctx, amount)
    }

    /// The operator creates its node with at least the minimum operator stake.
    pub fn create_node(ctx: Context<CreateNode>, amount: u64) -> Result<()> {
        CreateNode::handler(ctx, amount)
    }

    /// A staker adds stake to a node.
    pub fn stake(ctx: Context<Stake>, amount: u64) -> Result<()> {
        Stake::handler(ctx, amount)
    }

    /// A staker takes stake off a node; it can be withdrawn after the cooldown.
    pub fn request_unstake(ctx: Context<RequestUnstake>, amount: u64) -> Result<()> {
        RequestUnstake::handler(ctx, amount)
    }

    /// A staker withdraws what has waited out its cooldown.
    pub fn withdraw(ctx: Context<Withdraw>) -> Result<()> {
        Withdraw::handler(ctx)
    }

    /// Anyone closes the epoch once its time is up and books its rewards.
    pub fn crank_epoch(ctx: Context<CrankEpoch>) -> Result<()> {
        CrankEpoch::handler(ctx)
    }

    /// A staker (and, when it is the operator, the operator) claims rewards.
    pub fn claim_rewards(ctx: Context<ClaimRewards>) -> Result<()> {
        ClaimRewards::handler(ctx)
    }

    /// The operator closes its node; its stakers may then leave freely.
    pub fn close_node(ctx: Context<CloseNode>) -> Result<()> {
        CloseNode::handler(ctx)
    }
}

/// The committed `idl/aether_staking.json` matches the program.
#[cfg(all(test, feature = "idl-build"))]
mod idl {
    #[test]
    fn committed_idl_is_current() {
        aether_idl_check::check_committed(env!("CARGO_MANIFEST_DIR"), "aether_staking");
    }
}
