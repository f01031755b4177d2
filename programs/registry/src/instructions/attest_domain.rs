use aether_staking::state::{Config as StakingConfig, Node as StakingNode};
use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::RegistryError;
use crate::events::{DomainAttested, DomainStatusChanged};
use crate::state::{inactive_nodes, DomainBinding, RegistryConfig};

#[event_cpi]
#[derive(Accounts)]
pub struct AttestDomain<'info> {
    /// The attesting core node's operator.
    pub attester: Signer<'info>,

    #[account(seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RegistryConfig>>,

    /// The staking program's config: the epoch's active nodes.
    #[account(
        seeds = [aether_staking::constants::SEED_CONFIG],
        bump = staking_config.bump,
        seeds::program = aether_staking::ID,
    )]
    pub staking_config: Box<Account<'info, StakingConfig>>,

    /// The attester's staking node: owner and seeds checked.
    #[account(
        seeds = [aether_staking::constants::SEED_NODE, attester.key().as_ref()],
        bump = attester_node.bump,
        seeds::program = aether_staking::ID,
    )]
    pub attester_node: Box<Account<'info, StakingNode>>,

    #[account(
        mut,
        seeds = [SEED_DOMAIN, binding.seed.as_ref(), binding.owner.as_ref()],
        bump = binding.bump,
    )]
    pub binding: Box<Account<'info, DomainBinding>>,
}

impl<'info> AttestDomain<'info> {
    fn validate(&self, target: &[u8; 32]) -> Result<()> {
        require!(
            self.attester_node.is_active_in(&self.staking_config),
            RegistryError::AttesterNotActive
        );
        // The vote is about the target the attester checked.
        require!(
            self.binding.target == *target,
            RegistryError::StaleAttestation
        );
        Ok(())
    }

    /// An active core node says whether `_aether.<domain>` names `target`
    /// and the binding's owner. Staking nodes passed after the named
    /// accounts that are no longer active lose their votes first.
    /// A quorum of approvals makes the binding live; a quorum of rejections
    /// withdraws it (or rejects it before it went live).
    #[access_control(ctx.accounts.validate(&target))]
    pub fn handler(ctx: Context<Self>, target: [u8; 32], ok: bool) -> Result<()> {
        let quorum = ctx
            .accounts
            .config
            .quorum(ctx.accounts.staking_config.active_nodes);
        let attester = ctx.accounts.attester_node.key();
        let key = ctx.accounts.binding.key();
        let inactive = inactive_nodes(ctx.remaining_accounts, &ctx.accounts.staking_config)?;
        let binding = &mut ctx.accounts.binding;
        binding.drop_votes(&inactive);
        binding.vote(attester, ok)?;
        let decided = binding.decided(quorum);
        let changed = decided != binding.status;
        if changed {
            binding.status = decided;
            binding.changed_at = Clock::get()?.unix_timestamp;
        }
        let (approvals, rejections) = (
            binding.approvals.len() as u32,
            binding.rejections.len() as u32,
        );
        let (domain, target) = (binding.domain.clone(), binding.target);
        emit_cpi!(DomainAttested {
            binding: key,
            attester,
            ok,
            approvals,
            rejections,
            quorum,
        });
        if changed {
            emit_cpi!(DomainStatusChanged {
                binding: key,
                domain,
                target,
                status: decided,
            });
        }
        Ok(())
    }
}
