use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::StakingError;
use crate::events::NodeClosed;
use crate::state::{Config, EpochRecord, Forfeit, Node};

#[event_cpi]
#[derive(Accounts)]
pub struct CloseNode<'info> {
    /// Pays for the node's forfeit account when one is needed.
    #[account(mut)]
    pub operator: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,

    #[account(
        mut,
        seeds = [SEED_NODE, operator.key().as_ref()],
        bump = node.bump,
        has_one = operator @ StakingError::NotOperator,
    )]
    pub node: Box<Account<'info, Node>>,

    /// See `Stake::activation_record`.
    pub activation_record: Option<Box<Account<'info, EpochRecord>>>,

    /// Needed (and created) when this takes the node out of the active set
    /// while it holds stake added this epoch: see `state::Forfeit`.
    #[account(
        init,
        payer = operator,
        space = 8 + Forfeit::INIT_SPACE,
        seeds = [SEED_FORFEIT, node.key().as_ref(), config.epoch.to_le_bytes().as_ref()],
        bump,
    )]
    pub forfeit: Option<Box<Account<'info, Forfeit>>>,

    pub system_program: Program<'info, System>,
}

impl<'info> CloseNode<'info> {
    pub fn handler(ctx: Context<Self>) -> Result<()> {
        let node_key = ctx.accounts.node.key();
        let record = ctx.accounts.activation_record.as_deref().map(|r| &**r);
        let config = &mut ctx.accounts.config;
        let node = &mut ctx.accounts.node;
        // Book what it earned so far; the operator can still claim it.
        node.sync(config, record)?;
        let forfeited = node.mark_closed(config)?;
        Forfeit::record(
            ctx.accounts.forfeit.as_deref_mut(),
            ctx.bumps.forfeit,
            node_key,
            config.epoch,
            forfeited,
        )?;
        config.invariant()?;
        node.invariant(config)?;
        emit_cpi!(NodeClosed {
            node: node_key,
            operator: node.operator,
            total_stake: node.total_stake,
        });
        Ok(())
    }
}
