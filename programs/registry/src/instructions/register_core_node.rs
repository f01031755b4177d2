use aether_staking::state::{Node as StakingNode, NodeStatus};
use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::RegistryError;
use crate::events::CoreNodeRegistered;
use crate::state::{validate_address, NodeKind, NodeRecord, RegistryConfig};

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
            p2p_address: args.p2p_address.clone(),
            ..NodeRecord::new(
                ctx.bumps.record,
                NodeKind::Core,
                operator,
                staking_node,
                args.endpoint.clone(),
                now,
            )
        });
        ctx.accounts.record.invariant()?;
        ctx.accounts.config.add_node(NodeKind::Core)?;
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
