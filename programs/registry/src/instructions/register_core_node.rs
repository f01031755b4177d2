use aether_staking::state::{Node as StakingNode, NodeStatus};
use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::RegistryError;
use crate::events::CoreNodeRegistered;
use crate::state::{validate_address, Capacity, NodeKind, NodeRecord, RegistryConfig};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct RegisterCoreNodeArgs {
    /// The node's HTTP API.
    pub endpoint: String,
    /// The node's p2p multiaddress.
    pub p2p_address: String,
}

#[event_cpi]
#[derive(Accounts)]
pub struct RegisterCoreNode<'info> {
    #[account(mut)]
    pub operator: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RegistryConfig>>,

    /// The operator's node in the staking program: owner and seeds checked.
    #[account(
        seeds = [aether_staking::constants::SEED_NODE, operator.key().as_ref()],
        bump = staking_node.bump,
        seeds::program = aether_staking::ID,
    )]
    pub staking_node: Box<Account<'info, StakingNode>>,

    #[account(
        init,
        payer = operator,
        space = 8 + NodeRecord::INIT_SPACE,
        seeds = [SEED_NODE, staking_node.key().as_ref()],
        bump,
    )]
    pub record: Box<Account<'info, NodeRecord>>,

    pub system_program: Program<'info, System>,
}

impl<'info> RegisterCoreNode<'info> {
    fn validate(&self, args: &RegisterCoreNodeArgs) -> Result<()> {
        let Self { staking_node, .. } = self;
        // staking_node: a closed node serves no one
        require!(
            staking_node.status != NodeStatus::Closed,
            RegistryError::StakingNodeClosed
        );
        // args
        validate_address(&args.endpoint, false)?;
        validate_address(&args.p2p_address, false)?;
        Ok(())
    }

    #[access_control(ctx.accounts.validate(&args))]
    pub fn handler(ctx: Context<Self>, args: RegisterCoreNodeArgs) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let operator = ctx.accounts.operator.key();
        let staking_node = ctx.accounts.staking_node.key();
        let record_key = ctx.accounts.record.key();
        ctx.accounts.record.set_inner(NodeRecord {
            version: ACCOUNT_VERSION,
            bump: ctx.bumps.record,
            kind: NodeKind::Core,
            owner: operator,
            identity: staking_node,
            parent: Pubkey::default(),
            endpoint: args.endpoint.clone(),
            p2p_address: args.p2p_address.clone(),
            capacity: Capacity::default(),
            min_price_compute_per_second: 0,
            min_price_storage_per_gb_month: 0,
            registered_at: now,
            updated_at: now,
            score: 0,
            score_epoch: 0,
            scored: false,
            reports: Vec::new(),
        });
        ctx.accounts.record.invariant()?;
        let config = &mut ctx.accounts.config;
        config.core_nodes = config
            .core_nodes
            .checked_add(1)
            .ok_or(RegistryError::Overflow)?;
        emit_cpi!(CoreNodeRegistered {
            record: record_key,
            staking_node,
            operator,
            endpoint: args.endpoint,
            p2p_address: args.p2p_address,
        });
        Ok(())
    }
}
