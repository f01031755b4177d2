use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::EscrowError;
use crate::events::StreamToppedUp;
use crate::payout::pay_into_vault;
use crate::state::{EscrowConfig, Stream};

#[event_cpi]
#[derive(Accounts)]
pub struct TopUp<'info> {
    /// Anyone may pay into a stream.
    pub funder: Signer<'info>,

    #[account(seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, EscrowConfig>>,

    #[account(address = config.mint @ EscrowError::WrongMint)]
    pub mint: Box<Account<'info, Mint>>,

    #[account(
        mut,
        constraint = funder_tokens.mint == config.mint @ EscrowError::WrongMint,
        constraint = funder_tokens.owner == funder.key() @ EscrowError::WrongTokenOwner,
    )]
    pub funder_tokens: Box<Account<'info, TokenAccount>>,

    #[account(mut, seeds = [SEED_STREAM, stream.owner.as_ref(), stream.resource.as_ref()], bump = stream.bump)]
    pub stream: Box<Account<'info, Stream>>,

    #[account(mut, seeds = [SEED_VAULT, stream.key().as_ref()], bump = stream.vault_bump)]
    pub vault: Box<Account<'info, TokenAccount>>,

    pub token_program: Program<'info, Token>,
}

impl<'info> TopUp<'info> {
    pub fn handler(ctx: Context<Self>, amount: u64) -> Result<()> {
        require!(amount > 0, EscrowError::ZeroAmount);
        let accounts = &ctx.accounts;
        pay_into_vault(
            &accounts.token_program,
            &accounts.funder_tokens,
            &accounts.mint,
            &accounts.vault,
            &accounts.funder,
            amount,
        )?;
        let balance = ctx
            .accounts
            .vault
            .amount
            .checked_add(amount)
            .ok_or(EscrowError::Overflow)?;
        let stream_key = ctx.accounts.stream.key();
        let stream = &mut ctx.accounts.stream;
        stream.deposited = stream
            .deposited
            .checked_add(amount)
            .ok_or(EscrowError::Overflow)?;
        if stream.exhausted {
            // Service resumes now; the time it was exhausted is not owed.
            stream.exhausted = false;
            stream.last_settled = Clock::get()?.unix_timestamp;
        }
        stream.invariant()?;
        emit_cpi!(StreamToppedUp {
            stream: stream_key,
            amount,
            balance,
        });
        Ok(())
    }
}
