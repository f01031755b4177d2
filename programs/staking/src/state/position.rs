use anchor_lang::prelude::*;

use crate::constants::{ACCOUNT_VERSION, PRECISION};
use crate::errors::StakingError;
use crate::state::{Config, Node};

/// One staker's stake on one node.
#[account]
#[derive(InitSpace, Debug)]
pub struct StakePosition {
    pub version: u8,
    pub bump: u8,
    pub node: Pubkey,
    pub staker: Pubkey,
    /// Staked tokens, counted in the node's total stake.
    pub amount: u64,
    /// `Node::acc_per_share` up to which rewards are booked below.
    pub reward_debt: u128,
    /// Staker rewards booked and not yet paid.
    pub pending_rewards: u64,
    pub claimed: u64,
    /// Tokens unstaked and waiting out the cooldown.
    pub unstaking: u64,
    pub unstake_available_at: i64,
    /// The part of a base unit earned and not yet booked (scaled by
    /// `PRECISION`): kept for the next settlement instead of lost.
    pub reward_fraction: u128,
}

impl StakePosition {
    /// Adds `amount` to `staker`'s position on `node` (at `node_key`) and
    /// to the config's total staked, opening the position when it is new
    /// (empty, and earning from now). The caller changes the node's stake.
    /// The node must be synced first.
    pub fn deposit(
        &mut self,
        bump: u8,
        (node_key, node): (Pubkey, &mut Node),
        staker: Pubkey,
        config: &mut Config,
        amount: u64,
    ) -> Result<()> {
        if self.version == 0 {
            *self = StakePosition {
                version: ACCOUNT_VERSION,
                bump,
                node: node_key,
                staker,
                amount: 0,
                reward_debt: node.acc_per_share,
                pending_rewards: 0,
                claimed: 0,
                unstaking: 0,
                unstake_available_at: 0,
                reward_fraction: 0,
            };
            node.staker_count = node
                .staker_count
                .checked_add(1)
                .ok_or(StakingError::Overflow)?;
        }
        self.settle(node)?;
        self.amount = self
            .amount
            .checked_add(amount)
            .ok_or(StakingError::Overflow)?;
        config.total_staked = config
            .total_staked
            .checked_add(amount)
            .ok_or(StakingError::Overflow)?;
        Ok(())
    }

    /// Books what this position earned since it was last touched. The node
    /// must be synced first.
    pub fn settle(&mut self, node: &Node) -> Result<()> {
        let delta = node
            .acc_per_share
            .checked_sub(self.reward_debt)
            .ok_or(StakingError::InvariantViolated)?;
        let scaled = u128::from(self.amount)
            .checked_mul(delta)
            .and_then(|x| x.checked_add(self.reward_fraction))
            .ok_or(StakingError::Overflow)?;
        self.reward_fraction = scaled % PRECISION;
        let earned = u64::try_from(scaled / PRECISION).map_err(|_| StakingError::Overflow)?;
        self.pending_rewards = self
            .pending_rewards
            .checked_add(earned)
            .ok_or(StakingError::Overflow)?;
        self.reward_debt = node.acc_per_share;
        Ok(())
    }

    pub fn invariant(&self, node: &Node) -> Result<()> {
        require!(
            self.amount <= node.total_stake && self.reward_debt <= node.acc_per_share,
            StakingError::InvariantViolated
        );
        Ok(())
    }
}
