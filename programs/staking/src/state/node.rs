use anchor_lang::prelude::*;

use crate::constants::{MAX_ACTIVE_NODES, PRECISION};
use crate::errors::StakingError;
use crate::events::NodeStatusChanged;
use crate::math::{add_to, minus, plus, sub_from, Step};
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
            let delta = minus(config.acc_staker, self.staker_snapshot)?;
            add_to(&mut self.acc_per_share, delta)?;
            self.staker_snapshot = config.acc_staker;

            let delta = minus(config.acc_operator, self.operator_snapshot)?;
            let earned = u64::try_from(delta / PRECISION).map_err(|_| StakingError::Overflow)?;
            add_to(&mut self.operator_pending, earned)?;
            // Only whole tokens move; the fraction stays for next time.
            add_to(&mut self.operator_snapshot, u128::from(earned) * PRECISION)?;
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

    /// Moves this node's stake in the global counters: out of them before
    /// a change (`Step::Down`, detaching it), back in after (`Step::Up`).
    fn move_stake(&self, config: &mut Config, step: Step) -> Result<()> {
        match self.status {
            NodeStatus::Pending => {
                step.move_counter(&mut config.pending_stake, self.total_stake)?
            }
            NodeStatus::Active => {
                let incoming = self.current_incoming(config);
                let earning = minus(self.total_stake, incoming)?;
                step.move_counter(&mut config.active_stake, earning)?;
                step.move_counter(&mut config.incoming_stake, incoming)?;
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
        let step = if increase { Step::Up } else { Step::Down };
        // Out of the global counters before the change, back in after it.
        self.move_stake(config, Step::Down)?;
        self.total_stake = match step {
            Step::Up => plus(self.total_stake, amount)?,
            Step::Down => self
                .total_stake
                .checked_sub(amount)
                .ok_or(StakingError::InsufficientStake)?,
        };
        if self.status == NodeStatus::Active && incoming > 0 {
            let current = self.current_incoming(config);
            self.incoming = step.apply(current, incoming)?;
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
                self.activation_epoch = plus(config.epoch, 1)?;
                add_to(&mut config.pending_nodes, 1)?;
                Some(NodeStatus::Pending)
            }
            (NodeStatus::Pending, false) => {
                self.status = NodeStatus::Inactive;
                sub_from(&mut config.pending_nodes, 1)?;
                Some(NodeStatus::Inactive)
            }
            (NodeStatus::Active, false) => {
                forfeited = self.drop_incoming(config);
                self.status = NodeStatus::Inactive;
                sub_from(&mut config.active_nodes, 1)?;
                Some(NodeStatus::Inactive)
            }
            _ => None,
        };
        self.move_stake(config, Step::Up)?;
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
        self.move_stake(config, Step::Down)?;
        let forfeited = self.drop_incoming(config);
        match self.status {
            NodeStatus::Pending => sub_from(&mut config.pending_nodes, 1)?,
            NodeStatus::Active => sub_from(&mut config.active_nodes, 1)?,
            _ => {}
        }
        self.status = NodeStatus::Closed;
        Ok(forfeited)
    }

    /// The event saying a change (`change`) set this node, at `key`, to a
    /// new status, if it did.
    pub fn status_changed(&self, key: Pubkey, change: StatusChange) -> Option<NodeStatusChanged> {
        change.map(|status| NodeStatusChanged {
            node: key,
            status,
            activation_epoch: self.activation_epoch,
            total_stake: self.total_stake,
        })
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
