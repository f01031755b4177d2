//! The provisioner's decisions over what a round read, without a chain or
//! a VM: which stream pays for each program, whether a program fits what is
//! left of the node, and why a program is not served here.

use std::collections::BTreeMap;

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::escrow_program::state::{Stream, StreamKind};
use aether_sdk::registry_program::state::Capacity;

use crate::spec::Wanted;

/// Why a program is not served by this node, as a load balancer is told.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No open compute stream pays for it.
    #[error("no open stream pays for it here")]
    NoStream,
    /// Its stream ran dry.
    #[error("its stream is exhausted")]
    Exhausted,
    /// Its message was forgotten or removed.
    #[error("it was forgotten")]
    Forgotten,
    /// Its message cannot be run (what the spec says).
    #[error("{0}")]
    Unservable(String),
    /// The node serves only what a load balancer asks for.
    #[error("not asked (on demand)")]
    NotAsked,
    /// What it needs is more than the node has left.
    #[error("this node has no vCPUs, memory or disk left for it")]
    NoRoom,
    /// The stream is full, pays less than the node's price, or does not
    /// admit the node.
    #[error("its stream has no free slot, pays less than this node's price, or does not admit it")]
    NotWorthJoining,
    /// The join was sent and refused (another provider may have taken the
    /// last slot).
    #[error("joining its stream failed: {0}")]
    JoinFailed(String),
}

/// The compute stream paying for each program the core node holds, by item
/// hash. Several streams may pay for one program: one this node (`record`)
/// is in wins.
pub fn paying_streams(
    streams: Vec<(Pubkey, Stream)>,
    holds: impl Fn(&str) -> bool,
    record: &Pubkey,
) -> BTreeMap<String, (Pubkey, Stream)> {
    let serves = |s: &Stream| s.providers.iter().any(|p| p.record == *record);
    let mut paying: BTreeMap<String, (Pubkey, Stream)> = BTreeMap::new();
    for (key, stream) in streams {
        let hash = hex::encode(stream.resource);
        if stream.kind != StreamKind::Compute || !holds(&hash) {
            continue;
        }
        let keep = paying
            .get(&hash)
            .is_none_or(|(_, s)| serves(&stream) && !serves(s));
        if keep {
            paying.insert(hash, (key, stream));
        }
    }
    paying
}

/// What the programs taken so far use: vCPUs, memory MiB, disk MiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Used {
    pub vcpus: u64,
    pub memory_mib: u64,
    pub disk_mib: u64,
}

impl Used {
    /// Whether `wanted` fits what `capacity` leaves after this.
    pub fn fits(&self, wanted: &Wanted, capacity: &Capacity) -> bool {
        self.vcpus + u64::from(wanted.vcpus) <= u64::from(capacity.vcpus)
            && self.memory_mib + u64::from(wanted.memory_mib) <= u64::from(capacity.memory_mib)
            && self.disk_mib.saturating_add(wanted.disk_mib())
                <= u64::from(capacity.disk_gib).saturating_mul(1024)
    }

    /// This, with `wanted` taken too.
    pub fn with(self, wanted: &Wanted) -> Used {
        Used {
            vcpus: self.vcpus + u64::from(wanted.vcpus),
            memory_mib: self.memory_mib + u64::from(wanted.memory_mib),
            disk_mib: self.disk_mib.saturating_add(wanted.disk_mib()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_sdk::escrow_program::state::{ProviderSlot, ServePolicy};

    fn stream(resource: u8, kind: StreamKind, providers: &[Pubkey]) -> Stream {
        Stream {
            version: 1,
            bump: 0,
            vault_bump: 0,
            owner: Pubkey::new_unique(),
            resource: [resource; 32],
            kind,
            max_rate_per_second: 10,
            replicas: 4,
            providers: providers
                .iter()
                .map(|record| ProviderSlot {
                    record: *record,
                    payout: Pubkey::new_unique(),
                    joined_at: 0,
                    paid: 0,
                    min_price: 0,
                })
                .collect(),
            allowed: Vec::new(),
            deposited: 100,
            paid_out: 0,
            last_settled: 0,
            exhausted: false,
            opened_at: 0,
            serve: ServePolicy::MinScore(0),
            size_bytes: 0,
            carry: 0,
        }
    }

    #[test]
    fn a_stream_this_node_serves_wins_and_others_are_left_out() {
        let me = Pubkey::new_unique();
        let (other, mine, storage, unknown) = (
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
            Pubkey::new_unique(),
        );
        let held = hex::encode([1u8; 32]);
        let paying = paying_streams(
            vec![
                (other, stream(1, StreamKind::Compute, &[])),
                (mine, stream(1, StreamKind::Compute, &[me])),
                (storage, stream(1, StreamKind::Storage, &[])),
                (unknown, stream(2, StreamKind::Compute, &[])),
            ],
            |hash| hash == held,
            &me,
        );
        assert_eq!(paying.len(), 1, "only the program the core node holds");
        assert_eq!(paying[&held].0, mine);
    }

    #[test]
    fn programs_fit_until_the_node_is_full() {
        let capacity = Capacity {
            vcpus: 2,
            memory_mib: 1024,
            disk_gib: 1,
        };
        let wanted = Wanted {
            item_hash: String::new(),
            code_file: String::new(),
            entrypoint: String::new(),
            vcpus: 1,
            memory_mib: 512,
            env: Vec::new(),
            scratch_mib: Some(100),
            persistent_mib: None,
            rootfs_mib: None,
            node_api: false,
        };
        let used = Used::default();
        assert!(used.fits(&wanted, &capacity));
        let used = used.with(&wanted);
        assert!(used.fits(&wanted, &capacity));
        let used = used.with(&wanted);
        assert_eq!(used.disk_mib, 200);
        assert!(!used.fits(&wanted, &capacity), "no vCPU or memory left");
    }

    #[test]
    fn refusals_say_why_in_words() {
        assert_eq!(
            Refusal::NoStream.to_string(),
            "no open stream pays for it here"
        );
        assert_eq!(
            Refusal::JoinFailed("slot taken".into()).to_string(),
            "joining its stream failed: slot taken"
        );
    }
}
