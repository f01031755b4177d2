//! Accounts of the anchors program.

use anchor_lang::prelude::*;

use crate::constants::{MAX_ALLOWLIST, WINDOW};
use crate::errors::AnchorsError;

/// Who may anchor, besides active core nodes.
#[account]
#[derive(InitSpace, Debug)]
pub struct AnchorsConfig {
    pub version: u8,
    pub bump: u8,
    pub authority: Pubkey,
    /// Keys that may anchor without being an active core node (bootstrap).
    #[max_len(MAX_ALLOWLIST)]
    pub allowlist: Vec<Pubkey>,
}

/// One anchored batch.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct BatchEntry {
    pub seq: u64,
    pub root: [u8; 32],
    /// Leaves in the batch; proofs need it.
    pub count: u32,
    pub slot: u64,
    pub time: i64,
}

/// The window of the last `WINDOW` batch roots. It grows by one entry per
/// batch (the submitter pays the rent) until full, then wraps around.
#[account]
#[derive(Debug)]
pub struct BatchLog {
    pub version: u8,
    pub bump: u8,
    /// The seq of the last batch; 0 before the first.
    pub last_seq: u64,
    /// Entry of batch `seq` is at `(seq - 1) % WINDOW`.
    pub entries: Vec<BatchEntry>,
}

impl BatchLog {
    /// Account size holding `entries` entries.
    pub const fn space(entries: usize) -> usize {
        8 // discriminator
            + 1 // version
            + 1 // bump
            + 8 // last_seq
            + 4 + entries * BatchEntry::INIT_SPACE // entries
    }

    /// Entries once the next batch is in.
    pub fn next_len(&self) -> usize {
        (self.entries.len() + 1).min(WINDOW as usize)
    }

    /// Appends the next batch and returns its seq.
    pub fn push(&mut self, root: [u8; 32], count: u32, slot: u64, time: i64) -> Result<u64> {
        let seq = self.last_seq.checked_add(1).ok_or(AnchorsError::Overflow)?;
        let entry = BatchEntry {
            seq,
            root,
            count,
            slot,
            time,
        };
        let at = ((seq - 1) % u64::from(WINDOW)) as usize;
        if at < self.entries.len() {
            self.entries[at] = entry;
        } else {
            self.entries.push(entry);
        }
        self.last_seq = seq;
        Ok(seq)
    }

    /// The entry of batch `seq`, while it is in the window.
    pub fn get(&self, seq: u64) -> Option<&BatchEntry> {
        if seq == 0 || seq > self.last_seq {
            return None;
        }
        let entry = self.entries.get(((seq - 1) % u64::from(WINDOW)) as usize)?;
        (entry.seq == seq).then_some(entry)
    }

    pub fn invariant(&self) -> Result<()> {
        require!(
            self.entries.len() <= WINDOW as usize && self.entries.len() as u64 <= self.last_seq,
            AnchorsError::Overflow
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_wraps_and_forgets_the_oldest() {
        let mut log = BatchLog {
            version: 1,
            bump: 0,
            last_seq: 0,
            entries: Vec::new(),
        };
        assert!(log.get(0).is_none() && log.get(1).is_none());
        for i in 1..=(WINDOW as u64 + 10) {
            assert_eq!(log.push([i as u8; 32], 1, i, 0).unwrap(), i);
            log.invariant().unwrap();
        }
        assert_eq!(log.entries.len(), WINDOW as usize);
        assert!(log.get(10).is_none(), "pushed out");
        assert_eq!(log.get(11).unwrap().seq, 11);
        assert_eq!(
            log.get(WINDOW as u64 + 10).unwrap().root,
            [(WINDOW + 10) as u8; 32]
        );
        assert!(log.get(WINDOW as u64 + 11).is_none(), "not yet");
    }
}
