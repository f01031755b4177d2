use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::*;
use crate::errors::StakingError;
use crate::events::NodeCreated;
use crate::math::add_to;
use crate::state::{matured, Config, EpochRecord, Node, NodeStatus, StakePosition};
use crate::vault::transfer_in;

#[event_cpi]
#[derive(Accounts)]
pub struct CreateNode<'info> {
    #[account(mut)]
    pub operator: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,

    /// New, or the operator's closed node, which reopens.
    #[account(
        init_if_needed,
        payer = operator,
        space = 8 + Node::INIT_SPACE,
        seeds = [SEED_NODE, operator.key().as_ref()],
        bump,
    )]
    pub node: Box<Account<'info, Node>>,

    #[account(
        init_if_needed,
        payer = operator,
        space = 8 + StakePosition::INIT_SPACE,
        seeds = [SEED_STAKE, node.key().as_ref(), operator.key().as_ref()],
        bump,
    )]
    pub position: Box<Account<'info, StakePosition>>,

    #[account(address = config.stake_mint @ StakingError::WrongMint)]
    pub stake_mint: Box<Account<'info, Mint>>,

    #[account(
        mut,
        constraint = operator_tokens.mint == config.stake_mint @ StakingError::WrongMint,
        constraint = operator_tokens.owner == operator.key() @ StakingError::WrongTokenOwner,
    )]
    pub operator_tokens: Box<Account<'info, TokenAccount>>,

    #[account(mut, seeds = [SEED_STAKE_VAULT], bump = config.stake_vault_bump)]
    pub stake_vault: Box<Account<'info, TokenAccount>>,

    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,

    /// See `Stake::incoming_record` (a reopened node's operator position).
    pub incoming_record: Option<Box<Account<'info, EpochRecord>>>,

    /// CHECK: see `Stake::incoming_forfeit`.
    #[account(
        seeds = [SEED_FORFEIT, node.key().as_ref(), position.incoming_epoch.to_le_bytes().as_ref()],
        bump,
    )]
    pub incoming_forfeit: Option<UncheckedAccount<'info>>,
}

impl<'info> CreateNode<'info> {
    fn validate(&self) -> Result<()> {
        // node: new, or closed (a running node is not created twice)
        require!(
            self.node.version == 0 || self.node.status == NodeStatus::Closed,
            StakingError::NodeExists
        );
        Ok(())
    }

    /// Creates the operator's node, or reopens its closed node: stake that
    /// stayed on it counts again, and rewards booked to it stay claimable.
    #[access_control(ctx.accounts.validate())]
    pub fn handler(ctx: Context<Self>, amount: u64) -> Result<()> {
        let min = ctx.accounts.config.params.min_operator_stake;
        require!(amount >= min, StakingError::BelowMinimumOperatorStake);
        ctx.accounts
            .config
            .require_epoch_current(Clock::get()?.unix_timestamp)?;
        let accounts = &ctx.accounts;
        transfer_in(
            &accounts.token_program,
            &accounts.operator_tokens,
            &accounts.stake_mint,
            &accounts.stake_vault,
            &accounts.operator,
            amount,
        )?;
        let now = Clock::get()?.unix_timestamp;
        let operator = ctx.accounts.operator.key();
        let node_key = ctx.accounts.node.key();
        let config = &mut ctx.accounts.config;
        let node = &mut ctx.accounts.node;
        if node.version == 0 {
            node.set_inner(Node {
                version: ACCOUNT_VERSION,
                bump: ctx.bumps.node,
                operator,
                status: NodeStatus::Inactive,
                activation_epoch: 0,
                total_stake: 0,
                staker_count: 0,
                acc_per_share: 0,
                staker_snapshot: 0,
                operator_snapshot: 0,
                operator_pending: 0,
                operator_claimed: 0,
                created_at: now,
                incoming: 0,
                incoming_epoch: 0,
            });
            add_to(&mut config.node_count, 1)?;
        } else {
            // A closed node earned nothing since it closed: it starts
            // earning again from the accumulators as they are now.
            node.status = NodeStatus::Inactive;
            node.staker_snapshot = config.acc_staker;
            node.operator_snapshot = config.acc_operator;
        }
        let matured = matured(
            &ctx.accounts.incoming_record,
            &ctx.accounts.incoming_forfeit,
        );
        let position = &mut ctx.accounts.position;
        // The node is inactive here, so none of this is incoming.
        let incoming = position.deposit(
            ctx.bumps.position,
            (node_key, node),
            operator,
            config,
            amount,
            matured,
        )?;
        let change = node.change_stake(config, amount, true, incoming)?.status;
        config.invariant()?;
        node.invariant(config)?;
        position.invariant(node)?;
        emit_cpi!(NodeCreated {
            node: node_key,
            operator,
            stake: amount,
        });
        if let Some(event) = node.status_changed(node_key, change) {
            emit_cpi!(event);
        }
        Ok(())
    }
}
