use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::StakingError;
use crate::events::{NodeStatusChanged, UnstakeRequested};
use crate::state::{Config, EpochRecord, Node, NodeStatus, StakePosition};

#[event_cpi]
#[derive(Accounts)]
pub struct RequestUnstake<'info> {
    pub staker: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,

    #[account(mut, seeds = [SEED_NODE, node.operator.as_ref()], bump = node.bump)]
    pub node: Box<Account<'info, Node>>,

    #[account(
        mut,
        seeds = [SEED_STAKE, node.key().as_ref(), staker.key().as_ref()],
        bump = position.bump,
    )]
    pub position: Box<Account<'info, StakePosition>>,

    /// See `Stake::activation_record`.
    pub activation_record: Option<Box<Account<'info, EpochRecord>>>,
}

impl<'info> RequestUnstake<'info> {
    pub fn handler(ctx: Context<Self>, amount: u64) -> Result<()> {
        require!(amount > 0, StakingError::ZeroAmount);
        let now = Clock::get()?.unix_timestamp;
        let staker = ctx.accounts.staker.key();
        let node_key = ctx.accounts.node.key();
        let record = ctx.accounts.activation_record.as_deref().map(|r| &**r);
        let config = &mut ctx.accounts.config;
        let node = &mut ctx.accounts.node;
        let position = &mut ctx.accounts.position;

        require!(amount <= position.amount, StakingError::InsufficientStake);
        let remaining = position.amount - amount;
        // An operator keeps its minimum stake for as long as the node is open.
        if staker == node.operator && node.status != NodeStatus::Closed {
            require!(
                remaining >= config.params.min_operator_stake,
                StakingError::OperatorBelowMinimum
            );
        }

        let activated = node.sync(config, record)?;
        position.settle(node)?;
        position.amount = remaining;
        position.unstaking = position
            .unstaking
            .checked_add(amount)
            .ok_or(StakingError::Overflow)?;
        position.unstake_available_at = now
            .checked_add(config.params.unstake_cooldown)
            .ok_or(StakingError::Overflow)?;
        config.total_staked = config
            .total_staked
            .checked_sub(amount)
            .ok_or(StakingError::InvariantViolated)?;
        config.total_unstaking = config
            .total_unstaking
            .checked_add(amount)
            .ok_or(StakingError::Overflow)?;
        let change = if node.status == NodeStatus::Closed {
            node.total_stake = node
                .total_stake
                .checked_sub(amount)
                .ok_or(StakingError::InvariantViolated)?;
            None
        } else {
            node.change_stake(config, amount, false)?.or(activated)
        };

        config.invariant()?;
        node.invariant(config)?;
        position.invariant(node)?;
        emit_cpi!(UnstakeRequested {
            node: node_key,
            staker,
            amount,
            available_at: position.unstake_available_at,
            node_total_stake: node.total_stake,
        });
        if let Some(status) = change {
            emit_cpi!(NodeStatusChanged {
                node: node_key,
                status,
                activation_epoch: node.activation_epoch,
                total_stake: node.total_stake,
            });
        }
        Ok(())
    }
}
