use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::StakingError;
use crate::events::NodeClosed;
use crate::state::{Config, EpochRecord, Node};

#[event_cpi]
#[derive(Accounts)]
pub struct CloseNode<'info> {
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
}

impl<'info> CloseNode<'info> {
    pub fn handler(ctx: Context<Self>) -> Result<()> {
        let node_key = ctx.accounts.node.key();
        let record = ctx.accounts.activation_record.as_deref().map(|r| &**r);
        let config = &mut ctx.accounts.config;
        let node = &mut ctx.accounts.node;
        // Book what it earned so far; the operator can still claim it.
        node.sync(config, record)?;
        node.mark_closed(config)?;
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
