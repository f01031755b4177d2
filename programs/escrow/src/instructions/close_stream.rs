use anchor_lang::prelude::*;
use anchor_spl::token::{self, CloseAccount, Mint, Token, TokenAccount};

use super::{emit_settlement, with_stream};
use crate::constants::*;
use crate::errors::EscrowError;
use crate::events::StreamClosed;
use crate::payout::{pay_from_vault, stream_seeds};
use crate::state::{EscrowConfig, Stream};

#[event_cpi]
#[derive(Accounts)]
pub struct CloseStream<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,

    /// Where the refund goes.
    #[account(
        mut,
        constraint = owner_tokens.mint == config.mint @ EscrowError::WrongMint,
        constraint = owner_tokens.owner == owner.key() @ EscrowError::WrongTokenOwner,
    )]
    pub owner_tokens: Box<Account<'info, TokenAccount>>,

    #[account(seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, EscrowConfig>>,
    #[account(address = config.mint @ EscrowError::WrongMint)]
    pub mint: Box<Account<'info, Mint>>,
    #[account(
        mut,
        seeds = [SEED_STREAM, stream.owner.as_ref(), stream.resource.as_ref()],
        bump = stream.bump,
        has_one = owner @ EscrowError::NotOwner,
        close = owner,
    )]
    pub stream: Box<Account<'info, Stream>>,
    #[account(mut, seeds = [SEED_VAULT, stream.key().as_ref()], bump = stream.vault_bump)]
    pub vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    // remaining accounts: the providers' payout accounts, then their registry records, in slot order
}

impl<'info> CloseStream<'info> {
    /// Settles, refunds what is left to the owner, closes the vault and the stream.
    pub fn handler(ctx: Context<'info, Self>) -> Result<()> {
        let settled = with_stream!(ctx, settle_and_pay)?;
        let accounts = &mut *ctx.accounts;
        let refund = accounts
            .vault
            .amount
            .checked_sub(settled.total)
            .ok_or(EscrowError::Overflow)?;
        pay_from_vault(
            &accounts.token_program,
            &accounts.vault,
            &accounts.mint,
            &accounts.stream,
            accounts.owner_tokens.to_account_info(),
            refund,
        )?;
        let stream = &accounts.stream;
        let seeds: &[&[u8]] = stream_seeds!(stream);
        token::close_account(CpiContext::new_with_signer(
            accounts.token_program.key(),
            CloseAccount {
                account: accounts.vault.to_account_info(),
                destination: accounts.owner.to_account_info(),
                authority: stream.to_account_info(),
            },
            &[seeds],
        ))?;
        let stream_key = stream.key();
        emit_settlement!(ctx, settled);
        emit_cpi!(StreamClosed {
            stream: stream_key,
            refund,
        });
        Ok(())
    }
}
