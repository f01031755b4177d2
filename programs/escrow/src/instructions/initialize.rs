use anchor_lang::prelude::*;
use anchor_spl::token::Mint;

use crate::constants::*;
use crate::events::EscrowInitialized;
use crate::state::EscrowConfig;

#[event_cpi]
#[derive(Accounts)]
pub struct Initialize<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,

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
