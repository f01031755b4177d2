use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use super::{emit_settlement, with_stream};
use crate::constants::*;
use crate::errors::EscrowError;
use crate::state::{EscrowConfig, Stream};

#[event_cpi]
#[derive(Accounts)]
pub struct RemoveProvider<'info> {
    pub owner: Signer<'info>,

    #[account(seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, EscrowConfig>>,
    #[account(address = config.mint @ EscrowError::WrongMint)]
    pub mint: Box<Account<'info, Mint>>,
    #[account(
        mut,
        seeds = [SEED_STREAM, stream.owner.as_ref(), stream.resource.as_ref()],
        bump = stream.bump,
        has_one = owner @ EscrowError::NotOwner,
    )]
    pub stream: Box<Account<'info, Stream>>,
    #[account(mut, seeds = [SEED_VAULT, stream.key().as_ref()], bump = stream.vault_bump)]
    pub vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    // remaining accounts: the providers' payout accounts, then their registry records, in slot order
}

impl<'info> RemoveProvider<'info> {
    /// The owner settles, then takes `provider` (its registry record) off the stream.
    pub fn handler(ctx: Context<'info, Self>, provider: Pubkey) -> Result<()> {
        let (settled, event) = with_stream!(ctx, take_out, provider, true)?;
        emit_settlement!(ctx, settled);
        emit_cpi!(event);
        Ok(())
    }
}
