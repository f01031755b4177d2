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
