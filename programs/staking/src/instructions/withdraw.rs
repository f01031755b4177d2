use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::StakingError;
use crate::events::Withdrawn;
use crate::math::sub_from;
use crate::state::{Config, StakePosition};
use crate::vault::transfer_out;

#[event_cpi]
#[derive(Accounts)]
pub struct Withdraw<'info> {
    pub staker: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,

    #[account(
        mut,
        seeds = [SEED_STAKE, position.node.as_ref(), staker.key().as_ref()],
        bump = position.bump,
    )]
    pub position: Box<Account<'info, StakePosition>>,

    #[account(address = config.stake_mint @ StakingError::WrongMint)]
    pub stake_mint: Box<Account<'info, Mint>>,

    /// Where the tokens go: any account of the stake mint.
    #[account(mut, constraint = destination.mint == config.stake_mint @ StakingError::WrongMint)]
    pub destination: Box<Account<'info, TokenAccount>>,

    #[account(mut, seeds = [SEED_STAKE_VAULT], bump = config.stake_vault_bump)]
    pub stake_vault: Box<Account<'info, TokenAccount>>,

    pub token_program: Program<'info, Token>,
}

impl<'info> Withdraw<'info> {
    fn validate(&self) -> Result<()> {
        let Self { position, .. } = self;
        // position: something waited out its cooldown
        require!(position.unstaking > 0, StakingError::NothingToWithdraw);
        let now = Clock::get()?.unix_timestamp;
        require!(
            now >= position.unstake_available_at,
            StakingError::CooldownNotOver
        );
        Ok(())
    }

    #[access_control(ctx.accounts.validate())]
    pub fn handler(ctx: Context<Self>) -> Result<()> {
        let amount = ctx.accounts.position.unstaking;
        let accounts = &ctx.accounts;
        transfer_out(
            &accounts.token_program,
            &accounts.stake_vault,
            &accounts.stake_mint,
            &accounts.destination,
            &accounts.config,
            amount,
        )?;
        let config = &mut ctx.accounts.config;
        let position = &mut ctx.accounts.position;
        position.unstaking = 0;
        sub_from(&mut config.total_unstaking, amount)?;
        config.invariant()?;
        emit_cpi!(Withdrawn {
            node: position.node,
            staker: position.staker,
            amount,
        });
        Ok(())
    }
}
