use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::StakingError;
use crate::events::Initialized;
use crate::state::{Config, Params};

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
            @ StakingError::NotUpgradeAuthority,
    )]
    pub program_data: Box<Account<'info, ProgramData>>,

    #[account(
        init,
        payer = authority,
        space = 8 + Config::INIT_SPACE,
        seeds = [SEED_CONFIG],
        bump,
    )]
    pub config: Box<Account<'info, Config>>,

    pub stake_mint: Box<Account<'info, Mint>>,

    #[account(
        init,
        payer = authority,
        seeds = [SEED_STAKE_VAULT],
        bump,
        token::mint = stake_mint,
        token::authority = config,
    )]
    pub stake_vault: Box<Account<'info, TokenAccount>>,

    #[account(
        init,
        payer = authority,
        seeds = [SEED_REWARD_VAULT],
        bump,
        token::mint = stake_mint,
        token::authority = config,
    )]
    pub reward_vault: Box<Account<'info, TokenAccount>>,

    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

impl<'info> Initialize<'info> {
    pub fn handler(ctx: Context<Self>, params: Params) -> Result<()> {
        params.validate()?;
        let now = Clock::get()?.unix_timestamp;
        let config = &mut ctx.accounts.config;
        config.set_inner(Config {
            version: ACCOUNT_VERSION,
            bump: ctx.bumps.config,
            stake_vault_bump: ctx.bumps.stake_vault,
            reward_vault_bump: ctx.bumps.reward_vault,
            authority: ctx.accounts.authority.key(),
            stake_mint: ctx.accounts.stake_mint.key(),
            params,
            pending_params: None,
            epoch: 0,
            epoch_started_at: now,
            active_nodes: 0,
            active_stake: 0,
            pending_nodes: 0,
            pending_stake: 0,
            acc_operator: 0,
            acc_staker: 0,
            node_count: 0,
            total_staked: 0,
            total_unstaking: 0,
            total_funded: 0,
            total_booked: 0,
            total_paid: 0,
            pending_authority: None,
            operator_carry: 0,
            staker_carry: 0,
            incoming_stake: 0,
        });
        config.invariant()?;
        emit_cpi!(Initialized {
            authority: config.authority,
            stake_mint: config.stake_mint,
            params,
            epoch_started_at: now,
        });
        Ok(())
    }
}
