use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::AnchorsError;
use crate::events::AnchorsInitialized;
use crate::state::{AnchorsConfig, BatchLog};

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

    /// Starts empty; each batch grows it until the window is full.
    #[account(init, payer = authority, space = BatchLog::space(0), seeds = [SEED_LOG], bump)]
    pub log: AccountLoader<'info, BatchLog>,

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
        });
        let mut log = ctx.accounts.log.load_init()?;
        log.version = ACCOUNT_VERSION;
        log.bump = ctx.bumps.log;
        drop(log);
        emit_cpi!(AnchorsInitialized {
            authority,
            allowlist,
        });
        Ok(())
    }
}
