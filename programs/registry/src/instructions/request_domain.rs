use anchor_lang::prelude::*;

use crate::constants::*;
use crate::errors::RegistryError;
use crate::events::DomainRequested;
use crate::state::{domain_seed, validate_domain, DomainBinding, DomainStatus};

#[event_cpi]
#[derive(Accounts)]
#[instruction(domain: String, seed: [u8; 32])]
pub struct RequestDomain<'info> {
    /// The owner of the target, who pays for the binding.
    #[account(mut)]
    pub owner: Signer<'info>,

    /// The owner's own binding for this domain: each requester has its
    /// own, so nobody can overwrite, reset or hold another's request.
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + DomainBinding::INIT_SPACE,
        seeds = [SEED_DOMAIN, seed.as_ref(), owner.key().as_ref()],
        bump,
    )]
    pub binding: Box<Account<'info, DomainBinding>>,

    pub system_program: Program<'info, System>,
}

impl<'info> RequestDomain<'info> {
    fn validate(&self, domain: &str, seed: &[u8; 32]) -> Result<()> {
        validate_domain(domain)?;
        // The binding's address comes from the name's hash, given so that
        // the account can be derived before the handler runs.
        require!(domain_seed(domain) == *seed, RegistryError::InvalidDomain);
        Ok(())
    }

    /// Binds `domain` to `target` (a PROGRAM or INSTANCE item hash), pending
    /// until a quorum of core nodes finds `_aether.<domain>` naming both the
    /// target and this owner: the proof that the owner holds the domain.
    /// Requesting again (a new target) starts the vote over.
    #[access_control(ctx.accounts.validate(&domain, &seed))]
    pub fn handler(
        ctx: Context<Self>,
        domain: String,
        seed: [u8; 32],
        target: [u8; 32],
    ) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let owner = ctx.accounts.owner.key();
        let key = ctx.accounts.binding.key();
        let bump = ctx.bumps.binding;
        let binding = &mut ctx.accounts.binding;
        binding.set_inner(DomainBinding {
            version: ACCOUNT_VERSION,
            bump,
            domain: domain.clone(),
            seed,
            target,
            owner,
            status: DomainStatus::Pending,
            requested_at: now,
            changed_at: now,
            approvals: Vec::new(),
            rejections: Vec::new(),
        });
        emit_cpi!(DomainRequested {
            binding: key,
            domain,
            target,
            owner,
        });
        Ok(())
    }
}
