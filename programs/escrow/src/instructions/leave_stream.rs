use aether_registry::state::NodeRecord;
use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use super::{emit_settlement, with_stream};
use crate::constants::*;
use crate::errors::EscrowError;
use crate::state::{EscrowConfig, Stream};

#[event_cpi]
#[derive(Accounts)]
pub struct LeaveStream<'info> {
    /// The resource node's owner.
    pub provider_owner: Signer<'info>,

    #[account(
        seeds = [aether_registry::constants::SEED_NODE, provider.identity.as_ref()],
        bump = provider.bump,
        seeds::program = aether_registry::ID,
        constraint = provider.owner == provider_owner.key() @ EscrowError::NotProviderOwner,
    )]
    pub provider: Box<Account<'info, NodeRecord>>,

    #[account(seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, EscrowConfig>>,
    #[account(address = config.mint @ EscrowError::WrongMint)]
    pub mint: Box<Account<'info, Mint>>,
    #[account(mut, seeds = [SEED_STREAM, stream.owner.as_ref(), stream.resource.as_ref()], bump = stream.bump)]
    pub stream: Box<Account<'info, Stream>>,
    #[account(mut, seeds = [SEED_VAULT, stream.key().as_ref()], bump = stream.vault_bump)]
    pub vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    // remaining accounts: the providers' payout accounts, then their registry records, in slot order
}

impl<'info> LeaveStream<'info> {
    /// Settles (the provider is paid up to now), then frees its slot.
    pub fn handler(ctx: Context<'info, Self>) -> Result<()> {
        let provider = ctx.accounts.provider.key();
        let (settled, event) = with_stream!(ctx, take_out, provider, false)?;
        emit_settlement!(ctx, settled);
        emit_cpi!(event);
        Ok(())
    }
}
