use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::RegistryError;
use crate::events::NodeUpdated;
use crate::state::{validate_address, Capacity, NodeKind, NodeRecord};

/// What to change; `None` leaves a field as it is.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, Default)]
pub struct UpdateNodeArgs {
    pub endpoint: Option<String>,
    /// Core nodes only.
    pub p2p_address: Option<String>,
    /// Resource nodes only.
    pub capacity: Option<Capacity>,
    /// Resource nodes only.
    pub min_price_compute_per_second: Option<u64>,
    /// Resource nodes only.
    pub min_price_storage_per_gb_month: Option<u64>,
    /// Resource nodes only: move under another core node (pass its record as `new_parent`).
    pub move_to_parent: bool,
}

#[event_cpi]
#[derive(Accounts)]
pub struct UpdateNode<'info> {
    pub owner: Signer<'info>,

    #[account(
        mut,
        seeds = [SEED_NODE, record.identity.as_ref()],
        bump = record.bump,
        has_one = owner @ RegistryError::NotOwner,
    )]
    pub record: Box<Account<'info, NodeRecord>>,

    /// Needed only with `move_to_parent`.
    #[account(
        seeds = [SEED_NODE, new_parent.identity.as_ref()],
        bump = new_parent.bump,
        constraint = new_parent.kind == NodeKind::Core @ RegistryError::ParentNotCore,
    )]
    pub new_parent: Option<Box<Account<'info, NodeRecord>>>,

    /// The new parent's operator, whose signature is its consent; needed
    /// only with `move_to_parent`.
    pub new_parent_operator: Option<Signer<'info>>,
}

impl<'info> UpdateNode<'info> {
    fn validate(&self, args: &UpdateNodeArgs) -> Result<()> {
        let Self {
            record,
            new_parent,
            new_parent_operator,
            ..
        } = self;
        let resource_only = args.capacity.is_some()
            || args.min_price_compute_per_second.is_some()
            || args.min_price_storage_per_gb_month.is_some()
            || args.move_to_parent;
        // record: fields of the other kind are refused
        match record.kind {
            NodeKind::Core => require!(!resource_only, RegistryError::WrongNodeKind),
            NodeKind::Resource => {
                require!(args.p2p_address.is_none(), RegistryError::WrongNodeKind)
            }
        }
        require!(
            resource_only || args.endpoint.is_some() || args.p2p_address.is_some(),
            RegistryError::NothingToUpdate
        );
        require!(
            args.move_to_parent == new_parent.is_some(),
            RegistryError::ParentNotCore
        );
        // new_parent: its operator consents
        if let Some(parent) = new_parent {
            require!(
                new_parent_operator
                    .as_ref()
                    .is_some_and(|op| op.key() == parent.owner),
                RegistryError::NoParentConsent
            );
        }
        // args
        if let Some(endpoint) = &args.endpoint {
            validate_address(endpoint, false)?;
        }
        if let Some(p2p) = &args.p2p_address {
            validate_address(p2p, false)?;
        }
        if let Some(capacity) = &args.capacity {
            capacity.validate()?;
        }
        Ok(())
    }

    #[access_control(ctx.accounts.validate(&args))]
    pub fn handler(ctx: Context<Self>, args: UpdateNodeArgs) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let new_parent = ctx.accounts.new_parent.as_ref().map(|p| p.key());
        let record_key = ctx.accounts.record.key();
        let record = &mut ctx.accounts.record;
        if let Some(endpoint) = args.endpoint {
            record.endpoint = endpoint;
        }
        if let Some(p2p) = args.p2p_address {
            record.p2p_address = p2p;
        }
        if let Some(capacity) = args.capacity {
            record.capacity = capacity;
        }
        if let Some(price) = args.min_price_compute_per_second {
            record.min_price_compute_per_second = price;
        }
        if let Some(price) = args.min_price_storage_per_gb_month {
            record.min_price_storage_per_gb_month = price;
        }
        if let Some(parent) = new_parent {
            record.parent = parent;
        }
        record.updated_at = now;
        record.invariant()?;
        emit_cpi!(NodeUpdated {
            record: record_key,
            kind: record.kind,
            endpoint: record.endpoint.clone(),
            p2p_address: record.p2p_address.clone(),
            capacity: record.capacity,
            min_price_compute_per_second: record.min_price_compute_per_second,
            min_price_storage_per_gb_month: record.min_price_storage_per_gb_month,
        });
        Ok(())
    }
}
