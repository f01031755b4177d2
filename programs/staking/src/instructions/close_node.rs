use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::StakingError;
use crate::events::NodeClosed;
use crate::state::{Config, EpochRecord, Forfeit, ForfeitSlot, Node};

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
            ForfeitSlot {
                account: ctx.accounts.forfeit.as_ref(),
                bump: ctx.bumps.forfeit,
                payer: ctx.accounts.operator.as_ref(),
                system_program: ctx.accounts.system_program.as_ref(),
            },
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
