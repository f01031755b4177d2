use anchor_lang::prelude::*;

use crate::constants::{MAX_ATTESTERS, MAX_DOMAIN_LEN};
use crate::errors::RegistryError;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum DomainStatus {
    /// Requested; not enough core nodes have checked it yet.
    Pending,
    /// A quorum of core nodes found the TXT record naming the target.
    Live,
    /// A quorum found it missing or wrong before it went live.
    Rejected,
    /// Was live; a quorum then found the record gone or changed.
    Withdrawn,
}

/// A custom domain bound to a PROGRAM or INSTANCE by its owner, live once a
/// quorum of active core nodes attests that `_aether.<domain>` names the
/// target and the owner (`aether_sdk::programs::registry::txt_value`). Each requester has its own binding
/// at `["domain", sha256(domain), owner]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct DomainBinding {
    pub version: u8,
    pub bump: u8,
    #[max_len(MAX_DOMAIN_LEN)]
    pub domain: String,
    /// sha256 of the domain: the address's seed.
    pub seed: [u8; 32],
    /// Item hash of the PROGRAM or INSTANCE message.
    pub target: [u8; 32],
    pub owner: Pubkey,
    pub status: DomainStatus,
    pub requested_at: i64,
    pub changed_at: i64,
    /// Staking nodes of the core nodes that found the record right.
    #[max_len(MAX_ATTESTERS)]
    pub approvals: Vec<Pubkey>,
    /// Staking nodes of the core nodes that found it missing or wrong.
    #[max_len(MAX_ATTESTERS)]
    pub rejections: Vec<Pubkey>,
}

/// The seed of a domain's binding.
pub fn domain_seed(domain: &str) -> [u8; 32] {
    solana_sha256_hasher::hash(domain.as_bytes()).to_bytes()
}

/// A lowercase DNS name of at least two labels: letters, digits and
/// hyphens, labels of 1 to 63 bytes not starting or ending with a hyphen,
/// 253 bytes in all.
pub fn validate_domain(domain: &str) -> Result<()> {
    let ok = !domain.is_empty()
        && domain.len() <= MAX_DOMAIN_LEN as usize
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    require!(ok, RegistryError::InvalidDomain);
    Ok(())
}

impl DomainBinding {
    /// Forgets the votes of `nodes` (core nodes no longer active), so that
    /// they neither count nor hold a slot.
    pub fn drop_votes(&mut self, nodes: &[Pubkey]) {
        self.approvals.retain(|k| !nodes.contains(k));
        self.rejections.retain(|k| !nodes.contains(k));
    }

    /// Records `attester`'s vote, replacing any earlier one.
    pub fn vote(&mut self, attester: Pubkey, ok: bool) -> Result<()> {
        self.approvals.retain(|k| *k != attester);
        self.rejections.retain(|k| *k != attester);
        let list = if ok {
            &mut self.approvals
        } else {
            &mut self.rejections
        };
        require!(
            list.len() < MAX_ATTESTERS as usize,
            RegistryError::AttestersFull
        );
        list.push(attester);
        Ok(())
    }

    /// The status the votes call for, given the `quorum`: going live takes
    /// a quorum of approvals and more approvals than rejections; going
    /// down takes a quorum of rejections and at least as many as approvals.
    pub fn decided(&self, quorum: u32) -> DomainStatus {
        let approvals = self.approvals.len() as u32;
        let rejections = self.rejections.len() as u32;
        let down = rejections >= quorum && rejections >= approvals;
        let up = approvals >= quorum && approvals > rejections;
        match self.status {
            DomainStatus::Live if down => DomainStatus::Withdrawn,
            DomainStatus::Live => DomainStatus::Live,
            _ if up => DomainStatus::Live,
            DomainStatus::Pending if down => DomainStatus::Rejected,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_checked() {
        for good in ["a.b", "app.example.com", "x-1.y2.io"] {
            assert!(validate_domain(good).is_ok(), "{good}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        for bad in [
            "",
            "localhost",
            "Example.com",
            "-a.com",
            "a-.com",
            "a..com",
            "a.com.",
            "a_b.com",
            "é.com",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert!(validate_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn votes_replace_and_quorum_decides() {
        let mut b = DomainBinding {
            version: 1,
            bump: 0,
            domain: "a.b".into(),
            seed: [0; 32],
            target: [0; 32],
            owner: Pubkey::default(),
            status: DomainStatus::Pending,
            requested_at: 0,
            changed_at: 0,
            approvals: Vec::new(),
            rejections: Vec::new(),
        };
        let (x, y) = (Pubkey::new_unique(), Pubkey::new_unique());
        b.vote(x, true).unwrap();
        assert_eq!(b.decided(2), DomainStatus::Pending);
        b.vote(x, true).unwrap();
        assert_eq!(b.approvals.len(), 1, "a vote counts once");
        b.vote(y, true).unwrap();
        assert_eq!(b.decided(2), DomainStatus::Live);
        b.status = DomainStatus::Live;
        b.vote(x, false).unwrap();
        assert_eq!((b.approvals.len(), b.rejections.len()), (1, 1));
        assert_eq!(b.decided(2), DomainStatus::Live);
        b.vote(y, false).unwrap();
        assert_eq!(b.decided(2), DomainStatus::Withdrawn);
        b.status = DomainStatus::Pending;
        assert_eq!(b.decided(2), DomainStatus::Rejected);
        // Full at one vote per core node that can be active at once.
        while b.rejections.len() < MAX_ATTESTERS as usize {
            b.vote(Pubkey::new_unique(), false).unwrap();
        }
        assert!(b.vote(Pubkey::new_unique(), false).is_err());
        // Dropping the votes of nodes no longer active makes room.
        let gone = b.rejections[5];
        b.drop_votes(&[gone, x]);
        // x had voted no too.
        assert_eq!(b.rejections.len(), MAX_ATTESTERS as usize - 2);
        assert!(!b.rejections.contains(&gone) && !b.rejections.contains(&x));
        b.vote(Pubkey::new_unique(), false).unwrap();
    }
}
