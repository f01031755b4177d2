use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::RegistryError;
use crate::events::RegistryInitialized;
use crate::state::RegistryConfig;

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
            @ RegistryError::NotUpgradeAuthority,
    )]
    pub program_data: Box<Account<'info, ProgramData>>,

    #[account(
        init,
        payer = authority,
        space = 8 + RegistryConfig::INIT_SPACE,
        seeds = [SEED_CONFIG],
        bump,
    )]
    pub config: Box<Account<'info, RegistryConfig>>,

    pub system_program: Program<'info, System>,
}

impl<'info> Initialize<'info> {
    pub fn handler(ctx: Context<Self>, quorum_bps: u16) -> Result<()> {
        RegistryConfig::validate_quorum(quorum_bps)?;
        let authority = ctx.accounts.authority.key();
        ctx.accounts.config.set_inner(RegistryConfig {
            version: ACCOUNT_VERSION,
            bump: ctx.bumps.config,
            authority,
            quorum_bps,
            core_nodes: 0,
            resource_nodes: 0,
            pending_authority: None,
        });
        emit_cpi!(RegistryInitialized {
            authority,
            quorum_bps,
        });
        Ok(())
    }
}
