use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::StakingError;
use crate::events::RewardsClaimed;
use crate::math::{add_to, plus};
use crate::state::{matured, Config, EpochRecord, Node, StakePosition};
use crate::vault::transfer_out;

#[event_cpi]
#[derive(Accounts)]
pub struct ClaimRewards<'info> {
    pub claimer: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,

    #[account(mut, seeds = [SEED_NODE, node.operator.as_ref()], bump = node.bump)]
    pub node: Box<Account<'info, Node>>,

    #[account(
        mut,
        seeds = [SEED_STAKE, node.key().as_ref(), claimer.key().as_ref()],
        bump = position.bump,
    )]
    pub position: Box<Account<'info, StakePosition>>,

    /// See `Stake::activation_record`.
    pub activation_record: Option<Box<Account<'info, EpochRecord>>>,

    #[account(address = config.stake_mint @ StakingError::WrongMint)]
    pub stake_mint: Box<Account<'info, Mint>>,

    /// Where the rewards go: any account of the stake mint.
    #[account(mut, constraint = destination.mint == config.stake_mint @ StakingError::WrongMint)]
    pub destination: Box<Account<'info, TokenAccount>>,

    #[account(mut, seeds = [SEED_REWARD_VAULT], bump = config.reward_vault_bump)]
    pub reward_vault: Box<Account<'info, TokenAccount>>,

    pub token_program: Program<'info, Token>,

    /// Needed when the position holds stake added in an epoch now closed:
    /// that epoch's record.
    pub incoming_record: Option<Box<Account<'info, EpochRecord>>>,

    /// CHECK: only its address (the seeds) and whether this program wrote
    /// it are read: the node's forfeit for that epoch, if there is one.
    #[account(
        seeds = [SEED_FORFEIT, node.key().as_ref(), position.incoming_epoch.to_le_bytes().as_ref()],
        bump,
    )]
    pub incoming_forfeit: Option<UncheckedAccount<'info>>,
}

impl<'info> ClaimRewards<'info> {
    pub fn handler(ctx: Context<Self>) -> Result<()> {
        let claimer = ctx.accounts.claimer.key();
        let node_key = ctx.accounts.node.key();
        let available = ctx.accounts.reward_vault.amount;
        let record = ctx.accounts.activation_record.as_deref().map(|r| &**r);
        let matured = matured(
            &ctx.accounts.incoming_record,
            &ctx.accounts.incoming_forfeit,
        );
        let config = &mut ctx.accounts.config;
        let node = &mut ctx.accounts.node;
        let position = &mut ctx.accounts.position;

        let activated = node.sync(config, record)?;
        position.settle(node, config, matured)?;
        let operator_owed = if claimer == node.operator {
            node.operator_pending
        } else {
            0
        };
        let owed = plus(operator_owed, position.pending_rewards)?;
        require!(owed > 0, StakingError::NothingToClaim);
        // Never more than the vault holds; the rest stays booked for later.
        let paid = owed.min(available);
        require!(paid > 0, StakingError::RewardVaultEmpty);
        let operator_amount = operator_owed.min(paid);
        let staker_amount = paid - operator_amount;
        node.operator_pending -= operator_amount;
        add_to(&mut node.operator_claimed, operator_amount)?;
        position.pending_rewards -= staker_amount;
        add_to(&mut position.claimed, staker_amount)?;
        add_to(&mut config.total_paid, paid)?;
        config.invariant()?;
        node.invariant(config)?;
        position.invariant(node)?;

        let accounts = &ctx.accounts;
        transfer_out(
            &accounts.token_program,
            &accounts.reward_vault,
            &accounts.stake_mint,
            &accounts.destination,
            &accounts.config,
            paid,
        )?;
        emit_cpi!(RewardsClaimed {
            node: node_key,
            claimer,
            operator_amount,
            staker_amount,
            still_owed: owed - paid,
        });
        if let Some(event) = ctx.accounts.node.status_changed(node_key, activated) {
            emit_cpi!(event);
        }
        Ok(())
    }
}
