use anchor_lang::prelude::*;
use anchor_spl::token::Mint;

use crate::constants::*;
use crate::errors::EscrowError;
use crate::events::EscrowInitialized;
use crate::state::EscrowConfig;

#[event_cpi]
#[derive(Accounts)]
pub struct Initialize<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,

    /// The program's ProgramData, written by the upgradeable loader when the
    /// program is deployed: only its upgrade authority initializes, so
    /// nobody can take the program over by calling first.
    #[account(
        seeds = [crate::ID.as_ref()],
        bump,
        seeds::program = anchor_lang::solana_program::bpf_loader_upgradeable::ID,
        constraint = program_data.upgrade_authority_address == Some(authority.key())
            @ EscrowError::NotUpgradeAuthority,
    )]
    pub program_data: Box<Account<'info, ProgramData>>,

    #[account(init, payer = authority, space = 8 + EscrowConfig::INIT_SPACE, seeds = [SEED_CONFIG], bump)]
    pub config: Box<Account<'info, EscrowConfig>>,

    /// The payment token.
    pub mint: Box<Account<'info, Mint>>,

    pub system_program: Program<'info, System>,
}

impl<'info> Initialize<'info> {
    pub fn handler(ctx: Context<Self>) -> Result<()> {
        let authority = ctx.accounts.authority.key();
        let mint = ctx.accounts.mint.key();
        ctx.accounts.config.set_inner(EscrowConfig {
            version: ACCOUNT_VERSION,
            bump: ctx.bumps.config,
            authority,
            mint,
            pending_authority: None,
        });
        emit_cpi!(EscrowInitialized { authority, mint });
        Ok(())
    }
}
