use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::StakingError;
use crate::events::RewardsFunded;
use crate::math::{add_to, minus};
use crate::state::Config;
use crate::vault::transfer_in;

#[event_cpi]
#[derive(Accounts)]
pub struct FundRewards<'info> {
    pub funder: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,

    #[account(address = config.stake_mint @ StakingError::WrongMint)]
    pub stake_mint: Box<Account<'info, Mint>>,

    #[account(
        mut,
        constraint = funder_tokens.mint == config.stake_mint @ StakingError::WrongMint,
        constraint = funder_tokens.owner == funder.key() @ StakingError::WrongTokenOwner,
    )]
    pub funder_tokens: Box<Account<'info, TokenAccount>>,

    #[account(
        mut,
        seeds = [SEED_REWARD_VAULT],
        bump = config.reward_vault_bump,
    )]
    pub reward_vault: Box<Account<'info, TokenAccount>>,

    pub token_program: Program<'info, Token>,
}

impl<'info> FundRewards<'info> {
    /// Adds `amount` to the reward vault. Tokens sent to the vault without
    /// this instruction (donations) are counted as funded here too, so
    /// that the books always match the vault.
    pub fn handler(ctx: Context<Self>, amount: u64) -> Result<()> {
        require!(amount > 0, StakingError::ZeroAmount);
        let config = &ctx.accounts.config;
        let held = minus(config.total_funded, config.total_paid)?;
        let donated = ctx.accounts.reward_vault.amount.saturating_sub(held);
        let accounts = &ctx.accounts;
        transfer_in(
            &accounts.token_program,
            &accounts.funder_tokens,
            &accounts.stake_mint,
            &accounts.reward_vault,
            &accounts.funder,
            amount,
        )?;
        let config = &mut ctx.accounts.config;
        add_to(&mut config.total_funded, amount)?;
        add_to(&mut config.total_funded, donated)?;
        config.invariant()?;
        emit_cpi!(RewardsFunded {
            funder: ctx.accounts.funder.key(),
            amount,
            donated,
            total_funded: config.total_funded,
        });
        Ok(())
    }
}
