//! Accounts of the escrow program.

use anchor_lang::prelude::*;

use crate::constants::{MAX_ALLOWED, MAX_REPLICAS};
use crate::errors::EscrowError;

/// The payment mint and who administers the program.
#[account]
#[derive(InitSpace, Debug)]
pub struct EscrowConfig {
    pub version: u8,
    pub bump: u8,
    pub authority: Pubkey,
    /// Streams are paid in this token.
    pub mint: Pubkey,
    /// Proposed by the authority; becomes the authority when it accepts.
    pub pending_authority: Option<Pubkey>,
}

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum StreamKind {
    /// A VM: providers' minimum compute price per second applies.
    Compute,
    /// A stored file: providers' minimum storage price per GB-month applies.
    Storage,
}

/// One provider serving a stream.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct ProviderSlot {
    /// The provider's registry record (a resource node).
    pub record: Pubkey,
    /// Where its share is paid.
    pub payout: Pubkey,
    pub joined_at: i64,
    pub paid: u64,
    /// The provider's minimum price when it joined, in the stream kind's unit
    /// (per second, or per GB-month): later joins may not push its share under it.
    pub min_price: u64,
}

/// A user's payment for one resource, to the nodes that serve it.
#[account]
#[derive(InitSpace, Debug)]
pub struct Stream {
    pub version: u8,
    pub bump: u8,
    pub vault_bump: u8,
    pub owner: Pubkey,
    /// The item hash of the PROGRAM, INSTANCE or STORE message it pays for.
    pub resource: [u8; 32],
    pub kind: StreamKind,
    /// The most the owner pays per second, shared equally by the providers.
    pub max_rate_per_second: u64,
    pub replicas: u8,
    #[max_len(MAX_REPLICAS)]
    pub providers: Vec<ProviderSlot>,
    /// When not empty, only these provider records may join.
    #[max_len(MAX_ALLOWED)]
    pub allowed: Vec<Pubkey>,
    pub deposited: u64,
    pub paid_out: u64,
    /// Time up to which providers are paid.
    pub last_settled: i64,
    /// The vault could not pay what accrued; nothing accrues until a top-up.
    pub exhausted: bool,
    pub opened_at: i64,
}

/// What one settlement pays.
#[derive(Debug, PartialEq, Eq)]
pub struct Settlement {
    /// Per provider, in slot order.
    pub paid: Vec<u64>,
    pub exhausted: bool,
}

impl Stream {
    /// Books what accrued up to `now` against a vault holding `available`:
    /// each provider gets `rate × elapsed / providers`, or, when the vault is
    /// short, an equal share of what it holds, and the stream is exhausted.
    /// Whatever rounding leaves stays in the vault for the owner.
    pub fn settle(&mut self, now: i64, available: u64) -> Result<Settlement> {
        let n = self.providers.len() as u64;
        let elapsed = now.saturating_sub(self.last_settled).max(0) as u64;
        self.last_settled = self.last_settled.max(now);
        if n == 0 || elapsed == 0 || self.exhausted {
            return Ok(Settlement {
                paid: vec![0; n as usize],
                exhausted: self.exhausted,
            });
        }
        let accrued = u128::from(self.max_rate_per_second)
            .checked_mul(u128::from(elapsed))
            .ok_or(EscrowError::Overflow)?;
        let mut each = u64::try_from(accrued / u128::from(n)).unwrap_or(u64::MAX);
        if u128::from(each) * u128::from(n) > u128::from(available) {
            each = available / n;
            self.exhausted = true;
        }
        for slot in self.providers.iter_mut() {
            slot.paid = slot.paid.checked_add(each).ok_or(EscrowError::Overflow)?;
        }
        self.paid_out = self
            .paid_out
            .checked_add(each * n)
            .ok_or(EscrowError::Overflow)?;
        Ok(Settlement {
            paid: vec![each; n as usize],
            exhausted: self.exhausted,
        })
    }

    /// Each provider's share of the rate if there were `providers` of them.
    pub fn share(&self, providers: u64) -> u64 {
        self.max_rate_per_second / providers.max(1)
    }

    /// Whether a share per second pays at least `min_price` (per second for
    /// compute, per GB-month for storage).
    pub fn pays_at_least(&self, share: u64, min_price: u64) -> bool {
        match self.kind {
            StreamKind::Compute => share >= min_price,
            StreamKind::Storage => {
                u128::from(share) * u128::from(crate::constants::SECONDS_PER_MONTH)
                    >= u128::from(min_price)
            }
        }
    }

    pub fn invariant(&self) -> Result<()> {
        require!(
            self.providers.len() <= usize::from(self.replicas)
                && self.replicas <= MAX_REPLICAS
                && self.allowed.len() <= MAX_ALLOWED as usize
                && self.paid_out <= self.deposited,
            EscrowError::Overflow
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(rate: u64, providers: usize) -> Stream {
        Stream {
            version: 1,
            bump: 0,
            vault_bump: 0,
            owner: Pubkey::default(),
            resource: [0; 32],
            kind: StreamKind::Compute,
            max_rate_per_second: rate,
            replicas: 8,
            providers: (0..providers)
                .map(|_| ProviderSlot {
                    record: Pubkey::new_unique(),
                    payout: Pubkey::new_unique(),
                    joined_at: 0,
                    paid: 0,
                    min_price: 0,
                })
                .collect(),
            allowed: vec![],
            deposited: u64::MAX,
            paid_out: 0,
            last_settled: 100,
            exhausted: false,
            opened_at: 100,
        }
    }

    #[test]
    fn pays_the_rate_split_equally_once() {
        let mut s = stream(10, 3);
        let out = s.settle(110, 1_000).unwrap();
        assert_eq!(out.paid, vec![33, 33, 33], "100 over 3, the rest stays");
        assert!(!out.exhausted);
        // Twice in the same second pays nothing more.
        assert_eq!(s.settle(110, 1_000).unwrap().paid, vec![0, 0, 0]);
        // Time never runs backwards.
        assert_eq!(s.settle(105, 1_000).unwrap().paid, vec![0, 0, 0]);
        assert_eq!(s.last_settled, 110);
    }

    #[test]
    fn a_short_vault_pays_pro_rata_and_exhausts() {
        let mut s = stream(10, 2);
        let out = s.settle(200, 101).unwrap();
        assert_eq!(out.paid, vec![50, 50]);
        assert!(out.exhausted && s.exhausted);
        assert_eq!(
            s.settle(300, 1_000).unwrap().paid,
            vec![0, 0],
            "nothing accrues while exhausted"
        );
    }

    #[test]
    fn no_provider_no_payment() {
        let mut s = stream(10, 0);
        assert!(s.settle(1_000, 1_000).unwrap().paid.is_empty());
        assert_eq!(
            s.last_settled, 1_000,
            "time without providers is not owed later"
        );
    }
}
