use anchor_lang::prelude::*;

use crate::constants::{ACCOUNT_VERSION, PRECISION};
use crate::errors::StakingError;
use crate::math::{add_to, minus, plus};
use crate::state::{Config, EpochRecord, Node, NodeStatus};

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
    /// Stake added in `incoming_epoch` to the node while it was active: it
    /// earns from the epoch after, never the one it arrived in.
    pub incoming: u64,
    pub incoming_epoch: u64,
    /// `Node::acc_per_share` when it was added (the same all that epoch).
    pub incoming_debt: u128,
}

/// What settling a position needs once the epoch its incoming stake was
/// added in has closed: that epoch's record and whether the node left the
/// active set during it (then it earned nothing at that close, and the
/// incoming stake has nothing to skip).
#[derive(Clone, Copy)]
pub struct Matured<'a> {
    pub record: &'a EpochRecord,
    pub forfeited: bool,
}

impl StakePosition {
    /// Adds `amount` to `staker`'s position on `node` (at `node_key`) and
    /// to the config's total staked, opening the position when it is new.
    /// On an active node the stake is incoming: it earns from the next
    /// epoch. Returns how much of `amount` is incoming, for the caller's
    /// change of the node's stake. The node must be synced first.
    pub fn deposit(
        &mut self,
        bump: u8,
        (node_key, node): (Pubkey, &mut Node),
        staker: Pubkey,
        config: &mut Config,
        amount: u64,
        matured: Option<Matured>,
    ) -> Result<u64> {
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
                incoming: 0,
                incoming_epoch: 0,
                incoming_debt: 0,
            };
            add_to(&mut node.staker_count, 1)?;
        }
        self.settle(node, config, matured)?;
        let incoming = if node.status == NodeStatus::Active {
            // Settled above, so what is incoming is from this epoch, added
            // at the same `acc_per_share` (it moves only across epochs).
            add_to(&mut self.incoming, amount)?;
            self.incoming_epoch = config.epoch;
            self.incoming_debt = node.acc_per_share;
            amount
        } else {
            add_to(&mut self.amount, amount)?;
            0
        };
        add_to(&mut config.total_staked, amount)?;
        Ok(incoming)
    }

    /// The position's stake, earning or not yet.
    pub fn total(&self) -> Result<u64> {
        self.amount
            .checked_add(self.incoming)
            .ok_or_else(|| error!(StakingError::Overflow))
    }

    /// True when stake added in an epoch now closed waits to start earning:
    /// settling then needs [`Matured`].
    pub fn needs_matured(&self, config: &Config) -> bool {
        self.incoming > 0 && self.incoming_epoch < config.epoch
    }

    /// Takes `amount` off the position, from the stake not yet earning
    /// first. Returns how much came from it. Settle first.
    pub fn take(&mut self, amount: u64) -> Result<u64> {
        let total = self.total()?;
        require!(amount <= total, StakingError::InsufficientStake);
        let from_incoming = amount.min(self.incoming);
        self.incoming -= from_incoming;
        self.amount -= amount - from_incoming;
        Ok(from_incoming)
    }

    /// Books what this position earned since it was last touched, and lets
    /// stake added in a closed epoch earn from then on. The node must be
    /// synced first.
    pub fn settle(&mut self, node: &Node, config: &Config, matured: Option<Matured>) -> Result<()> {
        let delta = minus(node.acc_per_share, self.reward_debt)?;
        let mut scaled = u128::from(self.amount)
            .checked_mul(delta)
            .and_then(|x| x.checked_add(self.reward_fraction))
            .ok_or(StakingError::Overflow)?;
        if self.needs_matured(config) {
            let Matured { record, forfeited } =
                matured.ok_or(StakingError::IncomingRecordRequired)?;
            require!(
                record.epoch == self.incoming_epoch,
                StakingError::WrongIncomingRecord
            );
            // The node was active when the stake came. Unless it left in
            // that epoch, it earned that epoch's increment at the close,
            // which the stake did not back: it earns from there.
            let skip = if forfeited {
                0
            } else {
                record.staker_increment
            };
            let start = plus(self.incoming_debt, skip)?;
            let delta = minus(node.acc_per_share, start)?;
            scaled = u128::from(self.incoming)
                .checked_mul(delta)
                .and_then(|x| x.checked_add(scaled))
                .ok_or(StakingError::Overflow)?;
            self.amount = self.total()?;
            self.incoming = 0;
        }
        self.reward_fraction = scaled % PRECISION;
        let earned = u64::try_from(scaled / PRECISION).map_err(|_| StakingError::Overflow)?;
        add_to(&mut self.pending_rewards, earned)?;
        self.reward_debt = node.acc_per_share;
        Ok(())
    }

    pub fn invariant(&self, node: &Node) -> Result<()> {
        require!(
            self.total()? <= node.total_stake
                && self.reward_debt <= node.acc_per_share
                && self.incoming_debt <= node.acc_per_share,
            StakingError::InvariantViolated
        );
        Ok(())
    }
}
