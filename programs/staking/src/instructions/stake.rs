use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::StakingError;
use crate::events::Staked;
use crate::math::plus;
use crate::state::{matured, Config, EpochRecord, Node, NodeStatus, StakePosition};
use crate::vault::transfer_in;

#[event_cpi]
#[derive(Accounts)]
pub struct Stake<'info> {
    #[account(mut)]
    pub staker: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,

    #[account(mut, seeds = [SEED_NODE, node.operator.as_ref()], bump = node.bump)]
    pub node: Box<Account<'info, Node>>,

    #[account(
        init_if_needed,
        payer = staker,
        space = 8 + StakePosition::INIT_SPACE,
        seeds = [SEED_STAKE, node.key().as_ref(), staker.key().as_ref()],
        bump,
    )]
    pub position: Box<Account<'info, StakePosition>>,

    /// Needed only when the node's activation has matured and is not yet
    /// finalized: the record of the epoch before its activation epoch.
    pub activation_record: Option<Box<Account<'info, EpochRecord>>>,

    #[account(address = config.stake_mint @ StakingError::WrongMint)]
    pub stake_mint: Box<Account<'info, Mint>>,

    #[account(
        mut,
        constraint = staker_tokens.mint == config.stake_mint @ StakingError::WrongMint,
        constraint = staker_tokens.owner == staker.key() @ StakingError::WrongTokenOwner,
    )]
    pub staker_tokens: Box<Account<'info, TokenAccount>>,

    #[account(mut, seeds = [SEED_STAKE_VAULT], bump = config.stake_vault_bump)]
    pub stake_vault: Box<Account<'info, TokenAccount>>,

    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,

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

impl<'info> Stake<'info> {
    fn validate(&self) -> Result<()> {
        let Self { node, .. } = self;
        // node: a closed node takes no stake
        require!(node.status != NodeStatus::Closed, StakingError::NodeClosed);
        // config: no stake into an epoch that is over
        self.config
            .require_epoch_current(Clock::get()?.unix_timestamp)?;
        Ok(())
    }

    #[access_control(ctx.accounts.validate())]
    pub fn handler(ctx: Context<Self>, amount: u64) -> Result<()> {
        require!(amount > 0, StakingError::ZeroAmount);
        let accounts = &ctx.accounts;
        transfer_in(
            &accounts.token_program,
            &accounts.staker_tokens,
            &accounts.stake_mint,
            &accounts.stake_vault,
            &accounts.staker,
            amount,
        )?;

        let staker = ctx.accounts.staker.key();
        let node_key = ctx.accounts.node.key();
        let record = ctx.accounts.activation_record.as_deref().map(|r| &**r);
        let matured = matured(
            &ctx.accounts.incoming_record,
            &ctx.accounts.incoming_forfeit,
        );
        let config = &mut ctx.accounts.config;
        let node = &mut ctx.accounts.node;
        let position = &mut ctx.accounts.position;

        let activated = node.sync(config, record)?;
        let incoming = position.deposit(
            ctx.bumps.position,
            (node_key, node),
            staker,
            config,
            amount,
            matured,
        )?;
        let change = node
            .change_stake(config, amount, true, incoming)?
            .status
            .or(activated);
        let earning_from_epoch = if incoming > 0 {
            plus(config.epoch, 1)?
        } else {
            config.epoch
        };

        config.invariant()?;
        node.invariant(config)?;
        position.invariant(node)?;
        emit_cpi!(Staked {
            node: node_key,
            staker,
            amount,
            position_amount: position.total()?,
            node_total_stake: node.total_stake,
            earning_from_epoch,
        });
        if let Some(event) = node.status_changed(node_key, change) {
            emit_cpi!(event);
        }
        Ok(())
    }
}
