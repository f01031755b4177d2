//! Which streams to settle now, and how to pack them into transactions.
//! Pure: the tests below check the rules without a chain.

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::escrow_program::state::Stream;
use aether_sdk::programs::escrow;
use solana_transaction::{Instruction, Message, Transaction};

/// The most bytes a transaction may take on the wire.
pub const MAX_TX_BYTES: usize = 1232;

/// A stream worth settling, and what settling it now would pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The stream's address.
    pub stream: Pubkey,
    /// Paid to each provider, in slot order.
    pub paid: Vec<u64>,
    /// Settling now exhausts it.
    pub exhausts: bool,
    /// Why it is due.
    pub reason: Reason,
}

/// Why a stream is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// What accrued reached the threshold.
    Threshold,
    /// The last settlement is older than the period.
    Period,
    /// The vault cannot pay what accrued: settling marks it exhausted so
    /// that providers stop serving.
    Exhausting,
}

/// The rules.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Settle when this much (all providers together) has accrued.
    pub threshold: u64,
    /// Settle when the last settlement is this many seconds old and
    /// something has accrued.
    pub period_secs: i64,
}

/// What settling `stream` at `now` would pay, by the program's own rule,
/// and whether it is due under `rules`. `None` when nothing is due: a
/// settlement that pays nothing would only cost a fee.
pub fn due(key: Pubkey, stream: &Stream, now: i64, rules: Rules) -> Option<Due> {
    if stream.exhausted || stream.providers.is_empty() {
        return None;
    }
    let available = stream.deposited.checked_sub(stream.paid_out)?;
    let mut copy = stream.clone();
    // As if every provider's record still exists: the program pays nothing
    // to one that is gone, so this is the most it would pay.
    let none_gone = vec![false; copy.providers.len()];
    let settlement = copy.settle(now, available, &none_gone).ok()?;
    let total = settlement
        .paid
        .iter()
        .try_fold(0u64, |sum, p| sum.checked_add(*p))?;
    let reason = if settlement.exhausted {
        Reason::Exhausting
    } else if total == 0 {
        return None;
    } else if total >= rules.threshold {
        Reason::Threshold
    } else if now.saturating_sub(stream.last_settled) >= rules.period_secs {
        Reason::Period
    } else {
        return None;
    };
    Some(Due {
        stream: key,
        paid: settlement.paid,
        exhausts: settlement.exhausted,
        reason,
    })
}

/// The `settle` instruction of one stream.
pub fn instruction(mint: Pubkey, key: Pubkey, stream: &Stream) -> Instruction {
    escrow::settle(mint, key, &stream.providers)
}

/// Bytes `instructions` take as one transaction paid by `payer`.
pub fn tx_size(payer: &Pubkey, instructions: &[Instruction]) -> usize {
    let tx = Transaction::new_unsigned(Message::new(instructions, Some(payer)));
    bincode::serialized_size(&tx).map_or(usize::MAX, |n| n as usize)
}

/// Packs instructions into transactions of at most `max_per_tx`
/// instructions that fit in [`MAX_TX_BYTES`], in order. An instruction too
/// big alone still gets a transaction of its own, which the cluster will
/// refuse with a clear error.
pub fn pack(payer: &Pubkey, items: Vec<Instruction>, max_per_tx: usize) -> Vec<Vec<Instruction>> {
    let mut txs: Vec<Vec<Instruction>> = Vec::new();
    let mut current: Vec<Instruction> = Vec::new();
    for ix in items {
        current.push(ix);
        let too_many = current.len() > max_per_tx.max(1);
        if current.len() > 1 && (too_many || tx_size(payer, &current) > MAX_TX_BYTES) {
            let ix = current.pop().expect("just pushed");
            txs.push(std::mem::take(&mut current));
            current.push(ix);
        }
    }
    if !current.is_empty() {
        txs.push(current);
    }
    txs
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_sdk::escrow_program::state::{ProviderSlot, StreamKind};

    fn stream(rate: u64, providers: usize, deposited: u64, last_settled: i64) -> Stream {
        Stream {
            version: 1,
            bump: 0,
            vault_bump: 0,
            owner: Pubkey::new_unique(),
            resource: [1; 32],
            kind: StreamKind::Compute,
            max_rate_per_second: rate,
            replicas: providers as u8,
            providers: (0..providers)
                .map(|_| ProviderSlot {
                    record: Pubkey::new_unique(),
                    payout: Pubkey::new_unique(),
                    joined_at: 0,
                    paid: 0,
                    min_price: 0,
                })
                .collect(),
            allowed: Vec::new(),
            deposited,
            paid_out: 0,
            last_settled,
            exhausted: false,
            opened_at: 0,
            serve: aether_sdk::programs::escrow::ServePolicy::MinScore(0),
            size_bytes: 0,
            carry: 0,
        }
    }

    const RULES: Rules = Rules {
        threshold: 1_000,
        period_secs: 3_600,
    };

    #[test]
    fn due_by_threshold_period_or_exhaustion_and_never_for_nothing() {
        let key = Pubkey::new_unique();
        // 10/s for 100 s between two providers: 500 each, 1,000 in all.
        let d = due(key, &stream(10, 2, 1_000_000, 0), 100, RULES).unwrap();
        assert_eq!((d.paid, d.reason), (vec![500, 500], Reason::Threshold));
        // Under the threshold and recent: not yet.
        assert_eq!(due(key, &stream(10, 2, 1_000_000, 0), 99, RULES), None);
        // Under the threshold but older than the period.
        let d = due(key, &stream(1, 2, 1_000_000, 0), 3_600, RULES).unwrap();
        assert_eq!((d.paid, d.reason), (vec![1_800, 1_800], Reason::Threshold));
        let d = due(key, &stream(0, 1, 1_000_000, 0), 3_600, RULES);
        assert_eq!(d, None, "a zero rate never pays: no fee wasted");
        let slow = Rules {
            threshold: u64::MAX,
            period_secs: 3_600,
        };
        let d = due(key, &stream(1, 2, 1_000_000, 0), 3_600, slow).unwrap();
        assert_eq!(d.reason, Reason::Period);
        // The vault cannot pay: exhausting, each gets half of what is left.
        let d = due(key, &stream(10, 2, 301, 0), 100, slow).unwrap();
        assert_eq!((d.paid, d.exhausts), (vec![150, 150], true));
        assert_eq!(d.reason, Reason::Exhausting);
        // No providers, or already exhausted: nothing to do.
        assert_eq!(due(key, &stream(10, 0, 1_000, 0), 100, RULES), None);
        let mut done = stream(10, 2, 1_000, 0);
        done.exhausted = true;
        assert_eq!(due(key, &done, 100, RULES), None);
        // Time going backwards pays nothing.
        assert_eq!(due(key, &stream(10, 2, 1_000, 500), 100, RULES), None);
    }

    #[test]
    fn packs_as_many_as_fit() {
        let payer = Pubkey::new_unique();
        let mint = Pubkey::new_unique();
        let ixs: Vec<Instruction> = (0..20)
            .map(|_| instruction(mint, Pubkey::new_unique(), &stream(1, 2, 1, 0)))
            .collect();
        let txs = pack(&payer, ixs.clone(), 100);
        assert!(txs.len() > 1, "20 streams do not fit in one transaction");
        assert_eq!(txs.iter().map(Vec::len).sum::<usize>(), 20);
        for tx in &txs {
            assert!(tx_size(&payer, tx) <= MAX_TX_BYTES);
        }
        // Order is kept.
        let flat: Vec<Instruction> = txs.into_iter().flatten().collect();
        assert_eq!(flat, ixs);
        let txs = pack(&payer, ixs, 2);
        assert!(txs.iter().all(|t| t.len() <= 2));
        assert_eq!(txs.len(), 10);
    }
}
