use anchor_lang::prelude::*;

use crate::constants::SEED_CONFIG;
use crate::errors::StakingError;
use crate::events::ConfigUpdated;
use crate::state::{Config, Params};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct UpdateConfigArgs {
    /// New parameters, applied when the current epoch closes.
    pub params: Option<Params>,
    /// Proposes a new authority, which takes over when it signs
    /// `accept_authority`. Proposing the current authority withdraws a
    /// proposal.
    pub new_authority: Option<Pubkey>,
}

#[event_cpi]
#[derive(Accounts)]
pub struct UpdateConfig<'info> {
    pub authority: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
}

impl<'info> UpdateConfig<'info> {
    fn validate(&self) -> Result<()> {
        let Self {
            authority, config, ..
        } = self;
        // config: only its authority changes it
        require_keys_eq!(
            authority.key(),
            config.authority,
            StakingError::Unauthorized
        );
        Ok(())
    }

    #[access_control(ctx.accounts.validate())]
    pub fn handler(ctx: Context<Self>, args: UpdateConfigArgs) -> Result<()> {
        if let Some(params) = &args.params {
            params.validate()?;
        }
        let config = &mut ctx.accounts.config;
        if args.params.is_some() {
            config.pending_params = args.params;
        }
        if let Some(new_authority) = args.new_authority {
            // Two steps, so that a mistyped key cannot orphan the program.
            config.pending_authority = (new_authority != config.authority).then_some(new_authority);
        }
        config.invariant()?;
        emit_cpi!(ConfigUpdated {
            authority: config.authority,
            pending_params: config.pending_params,
            pending_authority: config.pending_authority,
        });
        Ok(())
    }
}
