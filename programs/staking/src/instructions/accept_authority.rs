use anchor_lang::prelude::*;

use crate::constants::SEED_CONFIG;
use crate::errors::StakingError;
use crate::events::StakingAuthorityAccepted;
use crate::state::Config;

#[event_cpi]
#[derive(Accounts)]
pub struct AcceptAuthority<'info> {
    /// The key the authority proposed with `update_config`.
    pub new_authority: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
}

impl<'info> AcceptAuthority<'info> {
    fn validate(&self) -> Result<()> {
        // config: only the proposed key takes the authority
        require!(
            self.config.pending_authority == Some(self.new_authority.key()),
            StakingError::NotPendingAuthority
        );
        Ok(())
    }

    /// The proposed authority takes over; the proposal is spent.
    #[access_control(ctx.accounts.validate())]
    pub fn handler(ctx: Context<Self>) -> Result<()> {
        let config = &mut ctx.accounts.config;
        let previous = config.authority;
        config.authority = ctx.accounts.new_authority.key();
        config.pending_authority = None;
        emit_cpi!(StakingAuthorityAccepted {
            previous,
            authority: config.authority,
        });
        Ok(())
    }
}
