use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::RegistryError;
use crate::events::RegistryConfigUpdated;
use crate::state::RegistryConfig;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct UpdateConfigArgs {
    pub quorum_bps: Option<u16>,
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
    pub config: Box<Account<'info, RegistryConfig>>,
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
            RegistryError::Unauthorized
        );
        Ok(())
    }

    #[access_control(ctx.accounts.validate())]
    pub fn handler(ctx: Context<Self>, args: UpdateConfigArgs) -> Result<()> {
        let config = &mut ctx.accounts.config;
        if let Some(quorum_bps) = args.quorum_bps {
            RegistryConfig::validate_quorum(quorum_bps)?;
            config.quorum_bps = quorum_bps;
        }
        if let Some(new_authority) = args.new_authority {
            // Two steps, so that a mistyped key cannot orphan the program.
            config.pending_authority = (new_authority != config.authority).then_some(new_authority);
        }
        emit_cpi!(RegistryConfigUpdated {
            authority: config.authority,
            quorum_bps: config.quorum_bps,
            pending_authority: config.pending_authority,
        });
        Ok(())
    }
}
