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

/// Who may take a slot, besides the records in `allowed` (which always may).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum ServePolicy {
    /// Only the records in `allowed`: the owner approves each provider
    /// (`allow_providers`).
    Allowlist,
    /// Any registered resource node whose score is at least this (0 to
    /// 10,000); above 0, the score must have reached a quorum.
    MinScore(u16),
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
    /// Who may join besides `allowed`.
    pub serve: ServePolicy,
    /// Bytes stored (storage streams; 0 for compute): providers' minimum
    /// price per GB-month is checked against it.
    pub size_bytes: u64,
    /// What accrued but did not split evenly among the providers (fewer
    /// base units than providers): paid with the next settlement, so that
    /// providers lose nothing to rounding however often anyone settles.
    pub carry: u64,
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
    /// each provider gets `(rate × elapsed + carry) / providers` and the
    /// remainder is carried to the next settlement; when the vault is short,
    /// each gets an equal share of what it holds, and the stream is
    /// exhausted (what rounding leaves then stays in the vault for the owner).
    ///
    /// A provider whose registry record is `gone` (deregistered) is paid
    /// nothing; its share stays in the vault for the owner.
    pub fn settle(&mut self, now: i64, available: u64, gone: &[bool]) -> Result<Settlement> {
        let n = self.providers.len() as u64;
        require!(
            gone.len() == self.providers.len(),
            EscrowError::WrongPayoutAccounts
        );
        let present = gone.iter().filter(|g| !**g).count() as u64;
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
            .and_then(|a| a.checked_add(u128::from(self.carry)))
            .ok_or(EscrowError::Overflow)?;
        let mut each = u64::try_from(accrued / u128::from(n)).unwrap_or(u64::MAX);
        if u128::from(each) * u128::from(n) > u128::from(available) {
            each = available / n;
            self.exhausted = true;
            self.carry = 0;
        } else {
            // accrued - each × n < n, which fits in u64.
            self.carry = (accrued - u128::from(each) * u128::from(n)) as u64;
        }
        let mut paid = Vec::with_capacity(n as usize);
        for (slot, gone) in self.providers.iter_mut().zip(gone) {
            let amount = if *gone { 0 } else { each };
            slot.paid = slot.paid.checked_add(amount).ok_or(EscrowError::Overflow)?;
            paid.push(amount);
        }
        self.paid_out = self
            .paid_out
            .checked_add(each * present)
            .ok_or(EscrowError::Overflow)?;
        Ok(Settlement {
            paid,
            exhausted: self.exhausted,
        })
    }

    /// Each provider's share of the rate if there were `providers` of them.
    pub fn share(&self, providers: u64) -> u64 {
        self.max_rate_per_second / providers.max(1)
    }

    /// Whether a share per second pays at least `min_price` (per second for
    /// compute; per GB-month for storage, times the stream's size in GB,
    /// rounded up).
    pub fn pays_at_least(&self, share: u64, min_price: u64) -> bool {
        match self.kind {
            StreamKind::Compute => share >= min_price,
            StreamKind::Storage => {
                let gb = self
                    .size_bytes
                    .div_ceil(crate::constants::BYTES_PER_GB)
                    .max(1);
                u128::from(share) * u128::from(crate::constants::SECONDS_PER_MONTH)
                    >= u128::from(min_price) * u128::from(gb)
            }
        }
    }

    /// Whether the resource node at `key`, whose record is `record`, may
    /// take a slot: it is allowed by name, or the policy admits it.
    pub fn admits(&self, key: &Pubkey, record: &aether_registry::state::NodeRecord) -> bool {
        self.allowed.contains(key)
            || match self.serve {
                ServePolicy::Allowlist => false,
                ServePolicy::MinScore(min) => record.score >= min && (min == 0 || record.scored),
            }
    }

    pub fn invariant(&self) -> Result<()> {
        require!(
            self.providers.len() <= usize::from(self.replicas)
                && self.replicas <= MAX_REPLICAS
                && self.allowed.len() <= MAX_ALLOWED as usize
                && self.paid_out <= self.deposited
                && self.carry < u64::from(MAX_REPLICAS),
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
            serve: ServePolicy::MinScore(0),
            size_bytes: 0,
            carry: 0,
        }
    }

    proptest::proptest! {
        /// However often settle is called, the providers are paid exactly
        /// what accrued, less under one base unit each still carried.
        #[test]
        fn settling_often_loses_nothing_to_rounding(
            rate in 1..20u64,
            providers in 1..8usize,
            steps in proptest::collection::vec(0..4i64, 1..200),
        ) {
            let mut s = stream(rate, providers);
            let mut now = s.last_settled;
            let mut paid = vec![0u64; providers];
            for dt in steps {
                now += dt;
                let out = s.settle(now, u64::MAX, &vec![false; s.providers.len()]).unwrap();
                for (total, each) in paid.iter_mut().zip(out.paid) {
                    *total += each;
                }
            }
            let accrued = rate * (now - 100) as u64;
            let sum: u64 = paid.iter().sum();
            proptest::prop_assert_eq!(sum + s.carry, accrued);
            proptest::prop_assert!(s.carry < providers as u64);
            proptest::prop_assert!(paid.iter().all(|p| *p == paid[0]), "equal shares");
        }
    }

    #[test]
    fn pays_the_rate_split_equally_once() {
        let mut s = stream(10, 3);
        let out = s
            .settle(110, 1_000, &vec![false; s.providers.len()])
            .unwrap();
        assert_eq!(out.paid, vec![33, 33, 33], "100 over 3, the rest stays");
        assert!(!out.exhausted);
        // Twice in the same second pays nothing more.
        assert_eq!(
            s.settle(110, 1_000, &vec![false; s.providers.len()])
                .unwrap()
                .paid,
            vec![0, 0, 0]
        );
        // Time never runs backwards.
        assert_eq!(
            s.settle(105, 1_000, &vec![false; s.providers.len()])
                .unwrap()
                .paid,
            vec![0, 0, 0]
        );
        assert_eq!(s.last_settled, 110);
    }

    #[test]
    fn a_short_vault_pays_pro_rata_and_exhausts() {
        let mut s = stream(10, 2);
        let out = s.settle(200, 101, &vec![false; s.providers.len()]).unwrap();
        assert_eq!(out.paid, vec![50, 50]);
        assert!(out.exhausted && s.exhausted);
        assert_eq!(
            s.settle(300, 1_000, &vec![false; s.providers.len()])
                .unwrap()
                .paid,
            vec![0, 0],
            "nothing accrues while exhausted"
        );
    }

    #[test]
    fn no_provider_no_payment() {
        let mut s = stream(10, 0);
        assert!(s
            .settle(1_000, 1_000, &vec![false; s.providers.len()])
            .unwrap()
            .paid
            .is_empty());
        assert_eq!(
            s.last_settled, 1_000,
            "time without providers is not owed later"
        );
    }
}
