use anchor_lang::prelude::*;

use crate::constants::{MAX_ACTIVE_NODES, PRECISION};
use crate::errors::StakingError;
use crate::state::{Config, EpochRecord};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum NodeStatus {
    /// Under the activation threshold: earns nothing.
    Inactive,
    /// Over the threshold; active from `activation_epoch`.
    Pending,
    /// Counted in the epoch's active nodes and stake.
    Active,
    /// Closed by its operator: takes no stake, earns nothing, stakers may leave.
    Closed,
}

/// A core node: its operator, its total stake and its reward books.
#[account]
#[derive(InitSpace, Debug)]
pub struct Node {
    pub version: u8,
    pub bump: u8,
    pub operator: Pubkey,
    pub status: NodeStatus,
    /// For a pending node, the first epoch in which it is active.
    pub activation_epoch: u64,
    /// Stake of every position on this node, the operator's included.
    pub total_stake: u64,
    pub staker_count: u32,
    /// Staker reward per unit of stake earned on this node, scaled by `PRECISION`.
    pub acc_per_share: u128,
    /// `Config::acc_staker` when `acc_per_share` was last brought up to date.
    pub staker_snapshot: u128,
    /// `Config::acc_operator` up to which operator rewards are booked below.
    pub operator_snapshot: u128,
    /// Operator rewards booked and not yet paid.
    pub operator_pending: u64,
    pub operator_claimed: u64,
    pub created_at: i64,
    /// Stake added in `incoming_epoch` while the node was active: counted in
    /// `total_stake` (and the activation threshold) but not in the config's
    /// active stake until that epoch closes.
    pub incoming: u64,
    pub incoming_epoch: u64,
}

/// What a change did to a node's status, so the handler can emit it.
pub type StatusChange = Option<NodeStatus>;

/// What a stake change did: the new status, if any, and, when the node left
/// the active set holding stake added this epoch, how much (the handler
/// then records a [`crate::state::Forfeit`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StakeChange {
    pub status: StatusChange,
    pub forfeited: Option<u64>,
}

impl Node {
    /// True when the node counts in `config`'s current epoch, whether or not
    /// its books have caught up yet.
    pub fn is_active_in(&self, config: &Config) -> bool {
        match self.status {
            NodeStatus::Active => true,
            NodeStatus::Pending => self.activation_epoch <= config.epoch,
            _ => false,
        }
    }

    /// Brings the node's books up to `config`: finalizes a matured activation
    /// (which needs the record of the epoch that closed just before it) and
    /// books what the node earned since it was last touched.
    pub fn sync(&mut self, config: &Config, record: Option<&EpochRecord>) -> Result<StatusChange> {
        let mut change = None;
        if self.status == NodeStatus::Pending && self.activation_epoch <= config.epoch {
            let record = record.ok_or(StakingError::ActivationRecordRequired)?;
            require!(
                record.epoch.checked_add(1) == Some(self.activation_epoch),
                StakingError::WrongActivationRecord
            );
            self.status = NodeStatus::Active;
            self.staker_snapshot = record.acc_staker;
            self.operator_snapshot = record.acc_operator;
            change = Some(NodeStatus::Active);
        }
        if self.status == NodeStatus::Active {
            let delta = config
                .acc_staker
                .checked_sub(self.staker_snapshot)
                .ok_or(StakingError::InvariantViolated)?;
            self.acc_per_share = self
                .acc_per_share
                .checked_add(delta)
                .ok_or(StakingError::Overflow)?;
            self.staker_snapshot = config.acc_staker;

            let delta = config
                .acc_operator
                .checked_sub(self.operator_snapshot)
                .ok_or(StakingError::InvariantViolated)?;
            let earned = u64::try_from(delta / PRECISION).map_err(|_| StakingError::Overflow)?;
            self.operator_pending = self
                .operator_pending
                .checked_add(earned)
                .ok_or(StakingError::Overflow)?;
            // Only whole tokens move; the fraction stays for next time.
            self.operator_snapshot = self
                .operator_snapshot
                .checked_add(u128::from(earned) * PRECISION)
                .ok_or(StakingError::Overflow)?;
        }
        // The crank folded it into the active stake when its epoch closed.
        if self.incoming_epoch < config.epoch {
            self.incoming = 0;
        }
        Ok(change)
    }

    /// Stake added this epoch while active, not yet earning.
    pub fn current_incoming(&self, config: &Config) -> u64 {
        if self.status == NodeStatus::Active && self.incoming_epoch == config.epoch {
            self.incoming
        } else {
            0
        }
    }

    /// Removes this node's stake from the global counters, before a change.
    fn detach(&self, config: &mut Config) -> Result<()> {
        match self.status {
            NodeStatus::Pending => {
                config.pending_stake = config
                    .pending_stake
                    .checked_sub(self.total_stake)
                    .ok_or(StakingError::InvariantViolated)?
            }
            NodeStatus::Active => {
                let incoming = self.current_incoming(config);
                let earning = self
                    .total_stake
                    .checked_sub(incoming)
                    .ok_or(StakingError::InvariantViolated)?;
                config.active_stake = config
                    .active_stake
                    .checked_sub(earning)
                    .ok_or(StakingError::InvariantViolated)?;
                config.incoming_stake = config
                    .incoming_stake
                    .checked_sub(incoming)
                    .ok_or(StakingError::InvariantViolated)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Adds this node's stake back to the global counters, after a change.
    fn attach(&self, config: &mut Config) -> Result<()> {
        match self.status {
            NodeStatus::Pending => {
                config.pending_stake = config
                    .pending_stake
                    .checked_add(self.total_stake)
                    .ok_or(StakingError::Overflow)?
            }
            NodeStatus::Active => {
                let incoming = self.current_incoming(config);
                let earning = self
                    .total_stake
                    .checked_sub(incoming)
                    .ok_or(StakingError::InvariantViolated)?;
                config.active_stake = config
                    .active_stake
                    .checked_add(earning)
                    .ok_or(StakingError::Overflow)?;
                config.incoming_stake = config
                    .incoming_stake
                    .checked_add(incoming)
                    .ok_or(StakingError::Overflow)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Takes the node out of the active set's incoming stake as it leaves
    /// it (detached already): what it held is returned as forfeited.
    fn drop_incoming(&mut self, config: &Config) -> Option<u64> {
        let incoming = self.current_incoming(config);
        self.incoming = 0;
        (incoming > 0).then_some(incoming)
    }

    /// Changes the node's total stake by `amount` (up or down) and moves it
    /// between inactive, pending and active as the threshold says. On an
    /// active node, `incoming` of `amount` is (or was) stake added this
    /// epoch, which earns only from the next. The node must be synced first.
    pub fn change_stake(
        &mut self,
        config: &mut Config,
        amount: u64,
        increase: bool,
        incoming: u64,
    ) -> Result<StakeChange> {
        require!(
            !(self.status == NodeStatus::Pending && self.activation_epoch <= config.epoch),
            StakingError::ActivationRecordRequired
        );
        require!(incoming <= amount, StakingError::InvariantViolated);
        self.detach(config)?;
        self.total_stake = if increase {
            self.total_stake
                .checked_add(amount)
                .ok_or(StakingError::Overflow)?
        } else {
            self.total_stake
                .checked_sub(amount)
                .ok_or(StakingError::InsufficientStake)?
        };
        if self.status == NodeStatus::Active && incoming > 0 {
            let current = self.current_incoming(config);
            self.incoming = if increase {
                current
                    .checked_add(incoming)
                    .ok_or(StakingError::Overflow)?
            } else {
                current
                    .checked_sub(incoming)
                    .ok_or(StakingError::InvariantViolated)?
            };
            self.incoming_epoch = config.epoch;
        }
        let mut forfeited = None;
        let threshold = config.params.activation_threshold;
        let above = self.total_stake >= threshold;
        let room = config
            .active_nodes
            .checked_add(config.pending_nodes)
            .is_some_and(|n| n < MAX_ACTIVE_NODES);
        let change = match (self.status, above) {
            (NodeStatus::Inactive, true) if room => {
                self.status = NodeStatus::Pending;
                self.activation_epoch =
                    config.epoch.checked_add(1).ok_or(StakingError::Overflow)?;
                config.pending_nodes = config
                    .pending_nodes
                    .checked_add(1)
                    .ok_or(StakingError::Overflow)?;
                Some(NodeStatus::Pending)
            }
            (NodeStatus::Pending, false) => {
                self.status = NodeStatus::Inactive;
                config.pending_nodes = config
                    .pending_nodes
                    .checked_sub(1)
                    .ok_or(StakingError::InvariantViolated)?;
                Some(NodeStatus::Inactive)
            }
            (NodeStatus::Active, false) => {
                forfeited = self.drop_incoming(config);
                self.status = NodeStatus::Inactive;
                config.active_nodes = config
                    .active_nodes
                    .checked_sub(1)
                    .ok_or(StakingError::InvariantViolated)?;
                Some(NodeStatus::Inactive)
            }
            _ => None,
        };
        self.attach(config)?;
        Ok(StakeChange {
            status: change,
            forfeited,
        })
    }

    /// Closes the node: it leaves the counters for good. The node must be
    /// synced first. Returns the stake added this epoch it held, if any
    /// (see [`StakeChange::forfeited`]).
    pub fn mark_closed(&mut self, config: &mut Config) -> Result<Option<u64>> {
        require!(
            self.status != NodeStatus::Closed,
            StakingError::NodeAlreadyClosed
        );
        require!(
            !(self.status == NodeStatus::Pending && self.activation_epoch <= config.epoch),
            StakingError::ActivationRecordRequired
        );
        self.detach(config)?;
        let forfeited = self.drop_incoming(config);
        match self.status {
            NodeStatus::Pending => {
                config.pending_nodes = config
                    .pending_nodes
                    .checked_sub(1)
                    .ok_or(StakingError::InvariantViolated)?
            }
            NodeStatus::Active => {
                config.active_nodes = config
                    .active_nodes
                    .checked_sub(1)
                    .ok_or(StakingError::InvariantViolated)?
            }
            _ => {}
        }
        self.status = NodeStatus::Closed;
        Ok(forfeited)
    }

    pub fn invariant(&self, config: &Config) -> Result<()> {
        require!(
            self.staker_snapshot <= config.acc_staker
                && self.operator_snapshot <= config.acc_operator
                && self.total_stake <= config.total_staked
                && self.current_incoming(config) <= self.total_stake,
            StakingError::InvariantViolated
        );
        Ok(())
    }
}
