use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::AnchorsError;
use crate::events::AnchorsInitialized;
use crate::state::AnchorsConfig;

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
            @ AnchorsError::NotUpgradeAuthority,
    )]
    pub program_data: Box<Account<'info, ProgramData>>,

    #[account(
        init,
        payer = authority,
        space = 8 + AnchorsConfig::INIT_SPACE,
        seeds = [SEED_CONFIG],
        bump,
    )]
    pub config: Box<Account<'info, AnchorsConfig>>,

    pub system_program: Program<'info, System>,
}

impl<'info> Initialize<'info> {
    pub fn handler(ctx: Context<Self>, allowlist: Vec<Pubkey>) -> Result<()> {
        require!(
            allowlist.len() <= MAX_ALLOWLIST as usize,
            AnchorsError::AllowlistFull
        );
        let authority = ctx.accounts.authority.key();
        ctx.accounts.config.set_inner(AnchorsConfig {
            version: ACCOUNT_VERSION,
            bump: ctx.bumps.config,
            authority,
            allowlist: allowlist.clone(),
            pending_authority: None,
            last_seq: 0,
        });
        emit_cpi!(AnchorsInitialized {
            authority,
            allowlist,
        });
        Ok(())
    }
}
