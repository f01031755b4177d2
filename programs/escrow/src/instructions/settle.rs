use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use super::{emit_settlement, with_stream};
use crate::constants::*;
use crate::errors::EscrowError;
use crate::state::{EscrowConfig, Stream};

#[event_cpi]
#[derive(Accounts)]
pub struct Settle<'info> {
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

impl<'info> Settle<'info> {
    /// Permissionless: pays each provider what accrued since the last settlement, once.
    pub fn handler(ctx: Context<'info, Self>) -> Result<()> {
        let settled = with_stream!(ctx, settle_and_pay)?;
        ctx.accounts.stream.invariant()?;
        emit_settlement!(ctx, settled);
        Ok(())
    }
}
