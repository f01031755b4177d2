use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::EscrowError;
use crate::events::EscrowConfigUpdated;
use crate::state::EscrowConfig;

#[event_cpi]
#[derive(Accounts)]
pub struct UpdateConfig<'info> {
    pub authority: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, EscrowConfig>>,
}

impl<'info> UpdateConfig<'info> {
    fn validate(&self) -> Result<()> {
        let Self {
            authority, config, ..
        } = self;
        // config: only its authority changes it
        require_keys_eq!(authority.key(), config.authority, EscrowError::Unauthorized);
        Ok(())
    }

    /// Proposes a new authority, which takes over when it signs
    /// `accept_authority` (two steps, so that a mistyped key cannot orphan
    /// the program); proposing the current authority withdraws a proposal.
    /// The mint never changes (streams hold it).
    #[access_control(ctx.accounts.validate())]
    pub fn handler(ctx: Context<Self>, new_authority: Pubkey) -> Result<()> {
        let config = &mut ctx.accounts.config;
        config.pending_authority = (new_authority != config.authority).then_some(new_authority);
        emit_cpi!(EscrowConfigUpdated {
            authority: config.authority,
            pending_authority: config.pending_authority,
        });
        Ok(())
    }
}
