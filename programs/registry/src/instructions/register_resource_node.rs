use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::RegistryError;
use crate::events::ResourceNodeRegistered;
use crate::state::{validate_address, Capacity, NodeKind, NodeRecord, RegistryConfig};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct RegisterResourceNodeArgs {
    /// The node's HTTP API.
    pub endpoint: String,
    pub capacity: Capacity,
    /// Lowest compute price accepted, in token base units per second.
    pub min_price_compute_per_second: u64,
    /// Lowest storage price accepted, in token base units per GB-month.
    pub min_price_storage_per_gb_month: u64,
}

#[event_cpi]
#[derive(Accounts)]
pub struct RegisterResourceNode<'info> {
    /// Who owns the node and may update or remove it; pays the rent.
    #[account(mut)]
    pub owner: Signer<'info>,

    /// The node's own key; its signature proves the owner holds it.
    pub node_identity: Signer<'info>,

    /// The parent core node's operator: its signature is its consent, so
    /// that a record costs a core operator's word and nobody can hang
    /// nodes under a core node that does not want them.
    pub parent_operator: Signer<'info>,

    #[account(mut, seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RegistryConfig>>,

    /// The core node this resource node reports to.
    #[account(
        seeds = [SEED_NODE, parent.identity.as_ref()],
        bump = parent.bump,
        constraint = parent.kind == NodeKind::Core @ RegistryError::ParentNotCore,
        constraint = parent.owner == parent_operator.key() @ RegistryError::NoParentConsent,
    )]
    pub parent: Box<Account<'info, NodeRecord>>,

    #[account(
        init,
        payer = owner,
        space = 8 + NodeRecord::INIT_SPACE,
        seeds = [SEED_NODE, node_identity.key().as_ref()],
        bump,
    )]
    pub record: Box<Account<'info, NodeRecord>>,

    pub system_program: Program<'info, System>,
}

impl<'info> RegisterResourceNode<'info> {
    fn validate(&self, args: &RegisterResourceNodeArgs) -> Result<()> {
        validate_address(&args.endpoint, false)?;
        args.capacity.validate()?;
        Ok(())
    }

    #[access_control(ctx.accounts.validate(&args))]
    pub fn handler(ctx: Context<Self>, args: RegisterResourceNodeArgs) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let owner = ctx.accounts.owner.key();
        let node_id = ctx.accounts.node_identity.key();
        let parent = ctx.accounts.parent.key();
        let record_key = ctx.accounts.record.key();
        ctx.accounts.record.set_inner(NodeRecord {
            parent,
            capacity: args.capacity,
            min_price_compute_per_second: args.min_price_compute_per_second,
            min_price_storage_per_gb_month: args.min_price_storage_per_gb_month,
            ..NodeRecord::new(
                ctx.bumps.record,
                NodeKind::Resource,
                owner,
                node_id,
                args.endpoint.clone(),
                now,
            )
        });
        ctx.accounts.record.invariant()?;
        ctx.accounts.config.add_node(NodeKind::Resource)?;
        emit_cpi!(ResourceNodeRegistered {
            record: record_key,
            node_id,
            owner,
            parent,
            endpoint: args.endpoint,
            capacity: args.capacity,
            min_price_compute_per_second: args.min_price_compute_per_second,
            min_price_storage_per_gb_month: args.min_price_storage_per_gb_month,
        });
        Ok(())
    }
}
