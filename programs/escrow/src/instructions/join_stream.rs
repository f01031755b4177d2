use aether_registry::state::{NodeKind, NodeRecord};
use anchor_lang::prelude::*;
use anchor_spl::associated_token::get_associated_token_address;
use anchor_spl::token::{Mint, Token, TokenAccount};

use super::{emit_settlement, with_stream};
use crate::constants::*;
use crate::errors::EscrowError;
use crate::events::ProviderJoined;
use crate::state::{EscrowConfig, ProviderSlot, Stream, StreamKind};

#[event_cpi]
#[derive(Accounts)]
pub struct JoinStream<'info> {
    /// The resource node's owner.
    pub provider_owner: Signer<'info>,

    /// The resource node's registry record: owner program and seeds checked.
    #[account(
        seeds = [aether_registry::constants::SEED_NODE, provider.identity.as_ref()],
        bump = provider.bump,
        seeds::program = aether_registry::ID,
        constraint = provider.kind == NodeKind::Resource @ EscrowError::NotResourceNode,
        constraint = provider.owner == provider_owner.key() @ EscrowError::NotProviderOwner,
    )]
    pub provider: Box<Account<'info, NodeRecord>>,

    /// Where the provider is paid: its owner's associated token account, so
    /// that if it is ever closed anyone can recreate it and settlement goes on.
    #[account(
        constraint = payout.mint == config.mint @ EscrowError::WrongMint,
        constraint = payout.owner == provider.owner @ EscrowError::WrongTokenOwner,
        constraint = payout.key() == get_associated_token_address(&provider.owner, &config.mint)
            @ EscrowError::PayoutNotAssociated,
    )]
    pub payout: Box<Account<'info, TokenAccount>>,

    #[account(seeds = [SEED_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, EscrowConfig>>,
    #[account(address = config.mint @ EscrowError::WrongMint)]
    pub mint: Box<Account<'info, Mint>>,
    #[account(mut, seeds = [SEED_STREAM, stream.owner.as_ref(), stream.resource.as_ref()], bump = stream.bump)]
    pub stream: Box<Account<'info, Stream>>,
    #[account(mut, seeds = [SEED_VAULT, stream.key().as_ref()], bump = stream.vault_bump)]
    pub vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    // remaining accounts: the current providers' payout accounts, then their registry records, in slot order
}

/// The provider's minimum price for this kind of stream.
fn min_price(kind: StreamKind, provider: &NodeRecord) -> u64 {
    match kind {
        StreamKind::Compute => provider.min_price_compute_per_second,
        StreamKind::Storage => provider.min_price_storage_per_gb_month,
    }
}

impl<'info> JoinStream<'info> {
    fn validate(&self) -> Result<()> {
        let Self {
            provider, stream, ..
        } = self;
        // stream: a free slot, not exhausted, not already served by this node, allowed
        require!(!stream.exhausted, EscrowError::Exhausted);
        require!(
            !stream.providers.iter().any(|p| p.record == provider.key()),
            EscrowError::AlreadyJoined
        );
        require!(
            stream.providers.len() < usize::from(stream.replicas),
            EscrowError::StreamFull
        );
        require!(
            stream.admits(&provider.key(), provider),
            EscrowError::ProviderNotAllowed
        );
        // provider: its minimum price fits its share, and the new split
        // leaves every provider already serving at or above its own minimum
        let share = stream.share(stream.providers.len() as u64 + 1);
        let fits = stream.pays_at_least(share, min_price(stream.kind, provider))
            && stream
                .providers
                .iter()
                .all(|p| stream.pays_at_least(share, p.min_price));
        require!(fits, EscrowError::PriceTooLow);
        Ok(())
    }

    #[access_control(ctx.accounts.validate())]
    pub fn handler(ctx: Context<'info, Self>) -> Result<()> {
        // Those already serving are paid at the old split first.
        let settled = with_stream!(ctx, settle_and_pay)?;
        let accounts = &mut *ctx.accounts;
        let provider = accounts.provider.key();
        let stream = &mut accounts.stream;
        let min_price = min_price(stream.kind, &accounts.provider);
        stream.providers.push(ProviderSlot {
            record: provider,
            payout: accounts.payout.key(),
            joined_at: Clock::get()?.unix_timestamp,
            paid: 0,
            min_price,
        });
        stream.invariant()?;
        let providers = stream.providers.len() as u8;
        let stream_key = stream.key();
        emit_settlement!(ctx, settled);
        emit_cpi!(ProviderJoined {
            stream: stream_key,
            provider,
            providers,
        });
        Ok(())
    }
}
