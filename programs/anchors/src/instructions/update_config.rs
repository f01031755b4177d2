use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::AnchorsError;
use crate::events::AnchorsConfigUpdated;
use crate::state::AnchorsConfig;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, Default)]
pub struct UpdateConfigArgs {
    /// Keys to allow (ignored when already there).
    pub allow: Vec<Pubkey>,
    /// Keys to remove from the allowlist.
    pub revoke: Vec<Pubkey>,
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
    pub config: Box<Account<'info, AnchorsConfig>>,
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
            AnchorsError::Unauthorized
        );
        Ok(())
    }

    #[access_control(ctx.accounts.validate())]
    pub fn handler(ctx: Context<Self>, args: UpdateConfigArgs) -> Result<()> {
        let config = &mut ctx.accounts.config;
        config.allowlist.retain(|k| !args.revoke.contains(k));
        for key in args.allow {
            if !config.allowlist.contains(&key) {
                config.allowlist.push(key);
            }
        }
        require!(
            config.allowlist.len() <= MAX_ALLOWLIST as usize,
            AnchorsError::AllowlistFull
        );
        if let Some(new_authority) = args.new_authority {
            // Two steps, so that a mistyped key cannot orphan the program.
            config.pending_authority = (new_authority != config.authority).then_some(new_authority);
        }
        emit_cpi!(AnchorsConfigUpdated {
            authority: config.authority,
            allowlist: config.allowlist.clone(),
            pending_authority: config.pending_authority,
        });
        Ok(())
    }
}
