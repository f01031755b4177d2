use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::RegistryError;
use crate::events::NodeDeregistered;
use crate::state::{NodeRecord, RegistryConfig};

#[event_cpi]
#[derive(Accounts)]
pub struct DeregisterNode<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RegistryConfig>>,

    #[account(
        mut,
        seeds = [SEED_NODE, record.identity.as_ref()],
        bump = record.bump,
        has_one = owner @ RegistryError::NotOwner,
        close = owner,
    )]
    pub record: Box<Account<'info, NodeRecord>>,
}

impl<'info> DeregisterNode<'info> {
    pub fn handler(ctx: Context<Self>) -> Result<()> {
        let kind = ctx.accounts.record.kind;
        ctx.accounts.config.remove_node(kind)?;
        emit_cpi!(NodeDeregistered {
            record: ctx.accounts.record.key(),
            kind,
            owner: ctx.accounts.owner.key(),
        });
        Ok(())
    }
}
