use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::StakingError;
use crate::math::{add_to, minus, plus};

/// What the authority may tune. Changes apply from the next epoch.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct Params {
    /// Stake an operator deposits to create a node and keeps while it runs.
    pub min_operator_stake: u64,
    /// Total stake at which a node becomes active (from the next epoch).
    pub activation_threshold: u64,
    /// Seconds per epoch.
    pub epoch_length: i64,
    /// Operator envelope per epoch, shared equally by the active nodes.
    pub operator_envelope: u64,
    /// Staker envelope per epoch: `base + per_active_node × active nodes`.
    pub staker_envelope_base: u64,
    pub staker_envelope_per_node: u64,
    /// Seconds between `request_unstake` and `withdraw`.
    pub unstake_cooldown: i64,
}

impl Default for Params {
    /// The defaults, for a 6-decimal stake token.
    fn default() -> Self {
        Self {
            min_operator_stake: DEFAULT_MIN_OPERATOR_STAKE,
            activation_threshold: DEFAULT_ACTIVATION_THRESHOLD,
            epoch_length: DEFAULT_EPOCH_LENGTH,
            operator_envelope: DEFAULT_OPERATOR_ENVELOPE,
            staker_envelope_base: DEFAULT_STAKER_ENVELOPE_BASE,
            staker_envelope_per_node: DEFAULT_STAKER_ENVELOPE_PER_NODE,
            unstake_cooldown: DEFAULT_UNSTAKE_COOLDOWN,
        }
    }
}

impl Params {
    pub fn validate(&self) -> Result<()> {
        // A cooldown of at least an epoch keeps stake that arrives just
        // before a crank from leaving with that epoch's rewards at once.
        // Envelopes that overflow at the most active nodes would make every
        // crank fail from then on: refused here instead.
        let envelopes = self
            .staker_envelope_per_node
            .checked_mul(u64::from(MAX_ACTIVE_NODES))
            .and_then(|x| x.checked_add(self.staker_envelope_base))
            .and_then(|x| x.checked_add(self.operator_envelope));
        require!(
            self.min_operator_stake > 0
                && self.activation_threshold >= self.min_operator_stake
                && (MIN_EPOCH_LENGTH..=MAX_EPOCH_LENGTH).contains(&self.epoch_length)
                && self.unstake_cooldown >= self.epoch_length
                && self.unstake_cooldown <= MAX_UNSTAKE_COOLDOWN
                && envelopes.is_some(),
            StakingError::InvalidParams
        );
        Ok(())
    }

    /// The staker envelope of an epoch with `active_nodes` active nodes.
    pub fn staker_envelope(&self, active_nodes: u32) -> Result<u64> {
        self.staker_envelope_per_node
            .checked_mul(u64::from(active_nodes))
            .and_then(|x| x.checked_add(self.staker_envelope_base))
            .ok_or_else(|| error!(StakingError::Overflow))
    }
}

/// Books `amount`, when there is any, into the accumulator `acc`: it
/// (plus `carry`, both scaled by `PRECISION`) is split equally over
/// `parts`, each part's share is added to `acc`, and what is left over
/// becomes the new `carry`.
fn book_split(acc: &mut u128, carry: &mut u128, amount: u64, parts: u128) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    let total = u128::from(amount)
        .checked_mul(PRECISION)
        .and_then(|x| x.checked_add(*carry))
        .ok_or(StakingError::Overflow)?;
    require!(parts > 0, StakingError::InvariantViolated);
    let each = total / parts;
    add_to(acc, each)?;
    *carry = total - each * parts;
    Ok(())
}

/// The program's single configuration and its global reward books.
#[account]
#[derive(InitSpace, Debug)]
pub struct Config {
    pub version: u8,
    pub bump: u8,
    pub stake_vault_bump: u8,
    pub reward_vault_bump: u8,
    pub authority: Pubkey,
    pub stake_mint: Pubkey,
    /// Parameters of the current epoch.
    pub params: Params,
    /// Parameters set by `update_config`, applied when the current epoch closes.
    pub pending_params: Option<Params>,
    /// The current (open) epoch.
    pub epoch: u64,
    pub epoch_started_at: i64,
    /// Nodes active in the current epoch and their total stake.
    pub active_nodes: u32,
    pub active_stake: u64,
    /// Nodes that become active when the current epoch closes, and their stake.
    pub pending_nodes: u32,
    pub pending_stake: u64,
    /// Operator reward per active node since genesis, scaled by `PRECISION`.
    pub acc_operator: u128,
    /// Staker reward per unit of active stake since genesis, scaled by `PRECISION`.
    pub acc_staker: u128,
    pub node_count: u32,
    /// Tokens staked (not counting those waiting out their cooldown).
    pub total_staked: u64,
    /// Tokens unstaked and waiting out their cooldown.
    pub total_unstaking: u64,
    /// Tokens ever put in the reward vault.
    pub total_funded: u64,
    /// Rewards ever booked to nodes and stakers.
    pub total_booked: u64,
    /// Rewards ever paid out of the reward vault.
    pub total_paid: u64,
    /// Proposed by the authority; becomes the authority when it accepts.
    pub pending_authority: Option<Pubkey>,
    /// What the last operator envelope left after an equal split (scaled
    /// by `PRECISION`, under one unit per active node): added to the next
    /// one, so no rounding dust is booked and lost.
    pub operator_carry: u128,
    /// The same for the staker envelope (under one unit per staked token).
    pub staker_carry: u128,
    /// Stake added this epoch to active nodes: it backs nothing in this
    /// epoch, so it joins `active_stake` (and earns) when the epoch closes.
    pub incoming_stake: u64,
}

impl Config {
    /// Rewards booked and not yet paid.
    pub fn owed(&self) -> u64 {
        self.total_booked.saturating_sub(self.total_paid)
    }

    /// Books the envelopes of the closing epoch into the accumulators and
    /// returns `(operator_booked, staker_booked)`. O(1): nobody is visited.
    ///
    /// Only what is funded and not booked yet can be booked, so the reward
    /// vault always holds everything owed and no claimer can take another's
    /// share of a short vault: when the envelopes ask for more, both shrink
    /// in proportion. What an equal split leaves is carried to the next
    /// epoch's split.
    pub fn book_epoch(&mut self) -> Result<(u64, u64)> {
        let unbooked = minus(self.total_funded, self.total_booked)?;
        let mut operator_booked = if self.active_nodes > 0 {
            self.params.operator_envelope
        } else {
            0
        };
        let mut staker_booked = if self.active_stake > 0 {
            self.params.staker_envelope(self.active_nodes)?
        } else {
            0
        };
        let wanted = plus(operator_booked, staker_booked)?;
        if wanted > unbooked {
            // operator × unbooked / wanted <= operator, which fits in u64.
            operator_booked =
                (u128::from(operator_booked) * u128::from(unbooked) / u128::from(wanted)) as u64;
            staker_booked = unbooked - operator_booked;
        }
        // Per active node, and per unit of active stake.
        book_split(
            &mut self.acc_operator,
            &mut self.operator_carry,
            operator_booked,
            u128::from(self.active_nodes),
        )?;
        book_split(
            &mut self.acc_staker,
            &mut self.staker_carry,
            staker_booked,
            u128::from(self.active_stake),
        )?;
        add_to(&mut self.total_booked, operator_booked)?;
        add_to(&mut self.total_booked, staker_booked)?;
        Ok((operator_booked, staker_booked))
    }

    /// Opens the next epoch: pending nodes become active, stake added to
    /// active nodes starts earning, pending parameters apply.
    pub fn open_next_epoch(&mut self) -> Result<()> {
        add_to(&mut self.active_nodes, self.pending_nodes)?;
        add_to(&mut self.active_stake, self.pending_stake)?;
        add_to(&mut self.active_stake, self.incoming_stake)?;
        self.pending_nodes = 0;
        self.pending_stake = 0;
        self.incoming_stake = 0;
        // Epochs are laid end to end so that a late crank can catch up.
        add_to(&mut self.epoch_started_at, self.params.epoch_length)?;
        if let Some(params) = self.pending_params.take() {
            self.params = params;
        }
        add_to(&mut self.epoch, 1)?;
        Ok(())
    }

    /// Refuses new stake while an epoch is over but not cranked: stake added
    /// then would share in epochs it was not there for.
    pub fn require_epoch_current(&self, now: i64) -> Result<()> {
        require!(now < self.epoch_ends_at()?, StakingError::EpochOverdue);
        Ok(())
    }

    pub fn epoch_ends_at(&self) -> Result<i64> {
        self.epoch_started_at
            .checked_add(self.params.epoch_length)
            .ok_or_else(|| error!(StakingError::Overflow))
    }

    pub fn invariant(&self) -> Result<()> {
        require!(
            self.total_paid <= self.total_funded
                && self.total_paid <= self.total_booked
                && self.total_booked <= self.total_funded
                && self
                    .active_stake
                    .checked_add(self.pending_stake)
                    .and_then(|x| x.checked_add(self.incoming_stake))
                    .is_some_and(|x| x <= self.total_staked)
                && self.active_nodes.checked_add(self.pending_nodes).is_some()
                && self.active_nodes + self.pending_nodes <= self.node_count
                && self.active_nodes + self.pending_nodes <= MAX_ACTIVE_NODES,
            StakingError::InvariantViolated
        );
        Ok(())
    }
}
