use anchor_lang::prelude::*;

use crate::constants::{ACCOUNT_VERSION, MAX_ADDRESS_LEN, MAX_REPORTS, MAX_SCORE};
use crate::errors::RegistryError;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum NodeKind {
    /// A core channel node, backed by a staking `Node`.
    Core,
    /// A compute resource node attached to a core node.
    Resource,
}

/// What a resource node offers.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, InitSpace,
)]
pub struct Capacity {
    pub vcpus: u16,
    pub memory_mib: u32,
    pub disk_gib: u32,
}

impl Capacity {
    pub fn validate(&self) -> Result<()> {
        require!(
            self.vcpus > 0 && self.memory_mib > 0 && self.disk_gib > 0,
            RegistryError::InvalidCapacity
        );
        Ok(())
    }
}

/// One core node's view of a node's quality in one epoch.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct ScoreReport {
    /// The reporter's staking `Node` account.
    pub reporter: Pubkey,
    pub epoch: u64,
    pub score: u16,
}

/// A registered node, core or resource.
#[account]
#[derive(InitSpace, Debug)]
pub struct NodeRecord {
    pub version: u8,
    pub bump: u8,
    pub kind: NodeKind,
    /// The operator (core) or owner (resource) who may update or deregister it.
    pub owner: Pubkey,
    /// The staking `Node` (core) or the node's own key (resource).
    pub identity: Pubkey,
    /// The parent core node's record (resource only).
    pub parent: Pubkey,
    /// The node's HTTP API, e.g. `https://node.example.com`.
    #[max_len(MAX_ADDRESS_LEN)]
    pub endpoint: String,
    /// The core node's p2p multiaddress (core only).
    #[max_len(MAX_ADDRESS_LEN)]
    pub p2p_address: String,
    pub capacity: Capacity,
    /// Lowest compute price it accepts, in token base units per second (resource only).
    pub min_price_compute_per_second: u64,
    /// Lowest storage price it accepts, in base units per GB-month (resource only).
    pub min_price_storage_per_gb_month: u64,
    pub registered_at: i64,
    pub updated_at: i64,
    /// The last score that reached quorum, 0 to 10,000.
    pub score: u16,
    /// The epoch of `score`; meaningful only when `scored`.
    pub score_epoch: u64,
    pub scored: bool,
    /// The most recent reports, at most `MAX_REPORTS`.
    #[max_len(MAX_REPORTS)]
    pub reports: Vec<ScoreReport>,
}

pub fn validate_address(address: &str, allow_empty: bool) -> Result<()> {
    require!(
        (allow_empty || !address.is_empty()) && address.len() <= MAX_ADDRESS_LEN as usize,
        RegistryError::InvalidAddress
    );
    Ok(())
}

impl NodeRecord {
    /// A record of `kind` registered at `now`: not scored, no reports, no
    /// parent, and the fields of one kind only (p2p address; capacity and
    /// prices) empty, for the caller to fill in.
    pub fn new(
        bump: u8,
        kind: NodeKind,
        owner: Pubkey,
        identity: Pubkey,
        endpoint: String,
        now: i64,
    ) -> Self {
        Self {
            version: ACCOUNT_VERSION,
            bump,
            kind,
            owner,
            identity,
            parent: Pubkey::default(),
            endpoint,
            p2p_address: String::new(),
            capacity: Capacity::default(),
            min_price_compute_per_second: 0,
            min_price_storage_per_gb_month: 0,
            registered_at: now,
            updated_at: now,
            score: 0,
            score_epoch: 0,
            scored: false,
            reports: Vec::new(),
        }
    }

    /// Adds `reporter`'s report for `epoch`, keeping the window bounded:
    /// reports of earlier epochs make room first, oldest first. Returns how
    /// many distinct reporters have reported in `epoch`.
    pub fn add_report(&mut self, reporter: Pubkey, epoch: u64, score: u16) -> Result<u32> {
        require!(score <= MAX_SCORE, RegistryError::ScoreOutOfRange);
        require!(
            !self
                .reports
                .iter()
                .any(|r| r.reporter == reporter && r.epoch == epoch),
            RegistryError::DuplicateReport
        );
        if self.reports.len() >= MAX_REPORTS as usize {
            let oldest = self
                .reports
                .iter()
                .enumerate()
                .filter(|(_, r)| r.epoch < epoch)
                .min_by_key(|(_, r)| r.epoch)
                .map(|(i, _)| i)
                .ok_or(RegistryError::ReportWindowFull)?;
            self.reports.remove(oldest);
        }
        self.reports.push(ScoreReport {
            reporter,
            epoch,
            score,
        });
        Ok(self.reports.iter().filter(|r| r.epoch == epoch).count() as u32)
    }

    /// Forgets `epoch`'s reports by `nodes` (core nodes no longer active).
    pub fn drop_reports(&mut self, nodes: &[Pubkey], epoch: u64) {
        self.reports
            .retain(|r| r.epoch != epoch || !nodes.contains(&r.reporter));
    }

    /// The median of `epoch`'s reports (the mean of the two middle ones,
    /// rounded down, when their number is even).
    pub fn median(&self, epoch: u64) -> Option<u16> {
        let mut scores = [0u16; MAX_REPORTS as usize];
        let mut n = 0;
        for r in self.reports.iter().filter(|r| r.epoch == epoch) {
            scores[n] = r.score;
            n += 1;
        }
        if n == 0 {
            return None;
        }
        let scores = &mut scores[..n];
        scores.sort_unstable();
        Some(if n % 2 == 1 {
            scores[n / 2]
        } else {
            ((u32::from(scores[n / 2 - 1]) + u32::from(scores[n / 2])) / 2) as u16
        })
    }

    pub fn invariant(&self) -> Result<()> {
        require!(
            self.reports.len() <= MAX_REPORTS as usize
                && self.score <= MAX_SCORE
                && self.endpoint.len() <= MAX_ADDRESS_LEN as usize
                && self.p2p_address.len() <= MAX_ADDRESS_LEN as usize,
            RegistryError::Overflow
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::RegistryConfig;

    fn record() -> NodeRecord {
        NodeRecord::new(
            0,
            NodeKind::Resource,
            Pubkey::default(),
            Pubkey::default(),
            String::new(),
            0,
        )
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        let mut r = record();
        assert_eq!(r.median(1), None);
        for s in [9_000, 1_000, 5_000] {
            r.add_report(Pubkey::new_unique(), 1, s).unwrap();
        }
        assert_eq!(r.median(1), Some(5_000));
        r.add_report(Pubkey::new_unique(), 1, 6_001).unwrap();
        assert_eq!(r.median(1), Some(5_500));
        // Other epochs do not count.
        r.add_report(Pubkey::new_unique(), 2, 10_000).unwrap();
        assert_eq!(r.median(1), Some(5_500));
        assert_eq!(r.median(2), Some(10_000));
    }

    #[test]
    fn window_evicts_older_epochs_first_and_refuses_when_full_of_current() {
        let mut r = record();
        for _ in 0..MAX_REPORTS {
            r.add_report(Pubkey::new_unique(), 1, 1).unwrap();
        }
        // Epoch 2 reports push out epoch 1's.
        for i in 0..MAX_REPORTS {
            assert_eq!(r.add_report(Pubkey::new_unique(), 2, 2).unwrap(), i + 1);
            assert_eq!(r.reports.len(), MAX_REPORTS as usize);
        }
        assert!(r.reports.iter().all(|x| x.epoch == 2));
        let err = r.add_report(Pubkey::new_unique(), 2, 2).unwrap_err();
        assert_eq!(err, RegistryError::ReportWindowFull.into());
    }

    #[test]
    fn duplicate_and_out_of_range_reports_are_refused() {
        let mut r = record();
        let who = Pubkey::new_unique();
        r.add_report(who, 1, 10).unwrap();
        assert_eq!(
            r.add_report(who, 1, 20).unwrap_err(),
            RegistryError::DuplicateReport.into()
        );
        assert_eq!(
            r.add_report(who, 2, 10_001).unwrap_err(),
            RegistryError::ScoreOutOfRange.into()
        );
        assert_eq!(r.reports.len(), 1);
    }

    #[test]
    fn quorum_rounds_up_and_is_at_least_one() {
        let c = RegistryConfig {
            version: 1,
            bump: 0,
            authority: Pubkey::default(),
            quorum_bps: 6_667,
            core_nodes: 0,
            resource_nodes: 0,
            pending_authority: None,
        };
        assert_eq!(c.quorum(0), 1);
        assert_eq!(c.quorum(1), 1);
        assert_eq!(c.quorum(3), 3); // 2.0001 rounds up
        assert_eq!(c.quorum(6), 5);
    }
}
