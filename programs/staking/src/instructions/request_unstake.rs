use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::StakingError;
use crate::events::UnstakeRequested;
use crate::math::{add_to, plus, sub_from};
use crate::state::{
    matured, Config, EpochRecord, Forfeit, ForfeitSlot, Node, NodeStatus, StakePosition,
};

#[event_cpi]
#[derive(Accounts)]
pub struct RequestUnstake<'info> {
    /// Pays for the node's forfeit account when one is needed.
    #[account(mut)]
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

    /// See `Stake::incoming_record`.
    pub incoming_record: Option<Box<Account<'info, EpochRecord>>>,

    /// CHECK: see `Stake::incoming_forfeit`.
    #[account(
        seeds = [SEED_FORFEIT, node.key().as_ref(), position.incoming_epoch.to_le_bytes().as_ref()],
        bump,
    )]
    pub incoming_forfeit: Option<UncheckedAccount<'info>>,

    /// CHECK: the node's forfeit address for this epoch, created here if
    /// this takes the node out of the active set while it holds stake
    /// added this epoch (see `state::Forfeit`). Always passed, so that
    /// nobody can make this fail by changing whether it is needed.
    #[account(
        mut,
        seeds = [SEED_FORFEIT, node.key().as_ref(), config.epoch.to_le_bytes().as_ref()],
        bump,
    )]
    pub forfeit: UncheckedAccount<'info>,

    pub system_program: Program<'info, System>,
}

impl<'info> RequestUnstake<'info> {
    pub fn handler(ctx: Context<Self>, amount: u64) -> Result<()> {
        require!(amount > 0, StakingError::ZeroAmount);
        let now = Clock::get()?.unix_timestamp;
        let staker = ctx.accounts.staker.key();
        let node_key = ctx.accounts.node.key();
        let record = ctx.accounts.activation_record.as_deref().map(|r| &**r);
        let matured = matured(
            &ctx.accounts.incoming_record,
            &ctx.accounts.incoming_forfeit,
        );
        let config = &mut ctx.accounts.config;
        let node = &mut ctx.accounts.node;
        let position = &mut ctx.accounts.position;

        let held = position.total()?;
        require!(amount <= held, StakingError::InsufficientStake);
        let remaining = held - amount;
        // An operator keeps its minimum stake for as long as the node is open.
        if staker == node.operator && node.status != NodeStatus::Closed {
            require!(
                remaining >= config.params.min_operator_stake,
                StakingError::OperatorBelowMinimum
            );
        }

        let activated = node.sync(config, record)?;
        position.settle(node, config, matured)?;
        let from_incoming = position.take(amount)?;
        add_to(&mut position.unstaking, amount)?;
        position.unstake_available_at = plus(now, config.params.unstake_cooldown)?;
        sub_from(&mut config.total_staked, amount)?;
        add_to(&mut config.total_unstaking, amount)?;
        let change = if node.status == NodeStatus::Closed {
            sub_from(&mut node.total_stake, amount)?;
            None
        } else {
            let change = node.change_stake(config, amount, false, from_incoming)?;
            Forfeit::record(
                ForfeitSlot {
                    account: ctx.accounts.forfeit.as_ref(),
                    bump: ctx.bumps.forfeit,
                    payer: ctx.accounts.staker.as_ref(),
                    system_program: ctx.accounts.system_program.as_ref(),
                },
                node_key,
                config.epoch,
                change.forfeited,
            )?;
            change.status.or(activated)
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
        if let Some(event) = node.status_changed(node_key, change) {
            emit_cpi!(event);
        }
        Ok(())
    }
}
