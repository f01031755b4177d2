//! Settlement shared by every instruction that changes who is paid: book
//! what accrued, then move it from the stream's vault to each provider's
//! payout account (passed as remaining accounts, in slot order). Also the
//! deposits into a stream's vault.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, Token, TokenAccount, TransferChecked};

use crate::constants::SEED_STREAM;
use crate::errors::EscrowError;
use crate::events::{ProviderLeft, StreamExhausted, StreamSettled};
use crate::state::Stream;

/// Signer seeds of a stream's PDA, which owns its vault.
macro_rules! stream_seeds {
    ($stream:expr) => {
        &[
            SEED_STREAM,
            $stream.owner.as_ref(),
            $stream.resource.as_ref(),
            &[$stream.bump],
        ]
    };
}
pub(crate) use stream_seeds;

/// Moves `amount` from a payer's token account into a stream's vault,
/// signed by the payer.
pub fn pay_into_vault<'info>(
    token_program: &Program<'info, Token>,
    from: &Account<'info, TokenAccount>,
    mint: &Account<'info, Mint>,
    vault: &Account<'info, TokenAccount>,
    payer: &Signer<'info>,
    amount: u64,
) -> Result<()> {
    let accounts = TransferChecked {
        from: from.to_account_info(),
        mint: mint.to_account_info(),
        to: vault.to_account_info(),
        authority: payer.to_account_info(),
    };
    token::transfer_checked(
        CpiContext::new(token_program.key(), accounts),
        amount,
        mint.decimals,
    )
}

/// Moves `amount` from the vault, signed by the stream.
pub fn pay_from_vault<'info>(
    token_program: &Program<'info, Token>,
    vault: &Account<'info, TokenAccount>,
    mint: &Account<'info, Mint>,
    stream: &Account<'info, Stream>,
    to: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    let accounts = TransferChecked {
        from: vault.to_account_info(),
        mint: mint.to_account_info(),
        to,
        authority: stream.to_account_info(),
    };
    let seeds: &[&[u8]] = stream_seeds!(stream);
    token::transfer_checked(
        CpiContext::new_with_signer(token_program.key(), accounts, &[seeds]),
        amount,
        mint.decimals,
    )
}

/// What a settlement did, for the handler to emit.
pub struct Settled {
    pub paid: Vec<u64>,
    pub total: u64,
    pub newly_exhausted: bool,
    /// `last_settled` moved forward, even if nothing was paid.
    pub moved: bool,
    /// Providers whose registry record no longer exists: paid nothing and
    /// removed from their slots.
    pub gone: Vec<ProviderLeft>,
}

/// Whether a provider's registry record is gone: its account no longer
/// belongs to the registry (deregistering closes it). The address is the
/// slot's own, and only the registry can create an account there.
fn record_gone(record: &AccountInfo) -> bool {
    *record.owner != aether_registry::ID || record.data_is_empty()
}

/// Settles `stream` up to now and pays each provider. `accounts` are the
/// providers' payout accounts, then their registry records, each in slot
/// order; a provider whose record is gone is paid nothing and removed.
pub fn settle_and_pay<'info>(
    token_program: &Program<'info, Token>,
    vault: &Account<'info, TokenAccount>,
    mint: &Account<'info, Mint>,
    stream: &mut Account<'info, Stream>,
    accounts: &[AccountInfo<'info>],
) -> Result<Settled> {
    let n = stream.providers.len();
    require!(accounts.len() == 2 * n, EscrowError::WrongPayoutAccounts);
    let (payouts, records) = accounts.split_at(n);
    let mut gone = Vec::with_capacity(n);
    for ((slot, payout), record) in stream.providers.iter().zip(payouts).zip(records) {
        require!(
            slot.payout == payout.key() && payout.is_writable && slot.record == record.key(),
            EscrowError::WrongPayoutAccounts
        );
        gone.push(record_gone(record));
    }
    let was_exhausted = stream.exhausted;
    let was_settled = stream.last_settled;
    let now = Clock::get()?.unix_timestamp;
    // Tokens sent to the vault without `top_up` are not the stream's to pay
    // out (close refunds them to the owner); pay only from what was deposited.
    let unpaid = stream
        .deposited
        .checked_sub(stream.paid_out)
        .ok_or(EscrowError::Overflow)?;
    let settlement = stream.settle(now, vault.amount.min(unpaid), &gone)?;
    let mut total = 0u64;
    for (amount, account) in settlement.paid.iter().zip(payouts) {
        pay_from_vault(token_program, vault, mint, stream, account.clone(), *amount)?;
        total = total.checked_add(*amount).ok_or(EscrowError::Overflow)?;
    }
    let mut left = Vec::new();
    let mut slot = 0;
    stream.providers.retain(|p| {
        let keep = !gone[slot];
        slot += 1;
        if !keep {
            left.push(p.record);
        }
        keep
    });
    let providers = stream.providers.len() as u8;
    let left = left
        .into_iter()
        .map(|provider| ProviderLeft {
            stream: stream.key(),
            provider,
            removed: true,
            providers,
        })
        .collect();
    Ok(Settled {
        paid: settlement.paid,
        total,
        newly_exhausted: settlement.exhausted && !was_exhausted,
        moved: stream.last_settled != was_settled,
        gone: left,
    })
}

/// The events of a settlement that paid something, moved `last_settled`
/// or exhausted the stream.
pub fn settled_events(
    stream: &Account<Stream>,
    settled: &Settled,
) -> (Option<StreamSettled>, Option<StreamExhausted>) {
    // Emitted whenever `last_settled` moves, so that an indexer can follow
    // it from events alone.
    let paid = (settled.total > 0 || settled.moved).then(|| StreamSettled {
        stream: stream.key(),
        paid: settled.paid.clone(),
        settled_until: stream.last_settled,
    });
    let exhausted = settled.newly_exhausted.then(|| StreamExhausted {
        stream: stream.key(),
        resource: stream.resource,
    });
    (paid, exhausted)
}

/// Settles (the provider is paid up to now), then frees `provider`'s slot.
/// Returns the settlement and the event saying who left.
pub fn take_out<'info>(
    token_program: &Program<'info, Token>,
    vault: &Account<'info, TokenAccount>,
    mint: &Account<'info, Mint>,
    stream: &mut Account<'info, Stream>,
    accounts: &[AccountInfo<'info>],
    provider: Pubkey,
    removed: bool,
) -> Result<(Settled, ProviderLeft)> {
    require!(
        stream.providers.iter().any(|p| p.record == provider),
        EscrowError::NotAProvider
    );
    let settled = settle_and_pay(token_program, vault, mint, stream, accounts)?;
    // Settling may already have removed it (its record gone).
    stream.providers.retain(|p| p.record != provider);
    stream.invariant()?;
    let left = ProviderLeft {
        stream: stream.key(),
        provider,
        removed,
        providers: stream.providers.len() as u8,
    };
    Ok((settled, left))
}
