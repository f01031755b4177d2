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
    /// Proposed by the authority; becomes the authority when it accepts.
    pub pending_authority: Option<Pubkey>,
    /// The seq of the last batch anchored by anyone; 0 before the first.
    pub last_seq: u64,
}

/// One anchored batch: a plain 96-byte record, read and written in place.
#[zero_copy]
#[derive(Debug, PartialEq, Eq, Default)]
pub struct BatchEntry {
    /// The batch's number among all batches of all submitters (from 1).
    pub seq: u64,
    pub root: [u8; 32],
    pub slot: u64,
    pub time: i64,
    /// Who anchored it: the key that vouches for the root.
    pub submitter: Pubkey,
    /// Leaves in the batch; proofs need it.
    pub count: u32,
    pub _reserved: [u8; 4],
}

/// The header of one submitter's window of its last `WINDOW` batch roots;
/// the entries follow it in the same account, in place, as a ring. Each
/// submitter has its own log (`["log", submitter]`), so no key can push
/// another's roots out of the window.
///
/// Nothing here is deserialized onto the heap: SBF's 32 KB bump heap never
/// frees, and a `Vec` of entries read per call would waste it.
#[account(zero_copy)]
#[derive(Debug)]
pub struct BatchLog {
    pub version: u8,
    pub bump: u8,
    pub _reserved: [u8; 6],
    /// Batches this submitter anchored; the next goes to `pushed % WINDOW`.
    pub pushed: u64,
    /// Whose log it is (also its address's seed).
    pub submitter: Pubkey,
}

/// Bytes before the first entry: discriminator and header.
pub const LOG_HEADER: usize = 8 + std::mem::size_of::<BatchLog>();
/// Bytes of one entry.
pub const ENTRY_SIZE: usize = std::mem::size_of::<BatchEntry>();

impl BatchLog {
    /// Account size holding `entries` entries.
    pub const fn space(entries: usize) -> usize {
        LOG_HEADER + entries * ENTRY_SIZE
    }

    /// Entries an account of `data_len` bytes holds.
    pub const fn entries_in(data_len: usize) -> usize {
        data_len.saturating_sub(LOG_HEADER) / ENTRY_SIZE
    }

    /// The header and entries of a log account's data, in place (the
    /// discriminator is checked by whoever loaded the account).
    pub fn split(data: &[u8]) -> Result<(&BatchLog, &[BatchEntry])> {
        let end = Self::space(Self::entries_in(data.len()));
        let (head, rest) = data
            .get(..end)
            .filter(|d| d.len() >= LOG_HEADER)
            .ok_or(AnchorsError::BadLog)?
            .split_at(LOG_HEADER);
        let header =
            bytemuck::try_from_bytes(&head[8..]).map_err(|_| error!(AnchorsError::BadLog))?;
        let entries = bytemuck::try_cast_slice(rest).map_err(|_| error!(AnchorsError::BadLog))?;
        Ok((header, entries))
    }

    /// The header and entries of a log account's data, in place, for writing.
    pub fn split_mut(data: &mut [u8]) -> Result<(&mut BatchLog, &mut [BatchEntry])> {
        let end = Self::space(Self::entries_in(data.len()));
        let (head, rest) = data
            .get_mut(..end)
            .filter(|d| d.len() >= LOG_HEADER)
            .ok_or(AnchorsError::BadLog)?
            .split_at_mut(LOG_HEADER);
        let header = bytemuck::try_from_bytes_mut(&mut head[8..])
            .map_err(|_| error!(AnchorsError::BadLog))?;
        let entries =
            bytemuck::try_cast_slice_mut(rest).map_err(|_| error!(AnchorsError::BadLog))?;
        Ok((header, entries))
    }

    /// Writes batch `entry` (its seq set by the caller) over the oldest
    /// entry of the ring, which must hold `WINDOW` entries.
    pub fn push(&mut self, entries: &mut [BatchEntry], entry: BatchEntry) -> Result<()> {
        require!(entries.len() == WINDOW as usize, AnchorsError::BadLog);
        require!(entry.seq > 0, AnchorsError::BadLog);
        let at = (self.pushed % u64::from(WINDOW)) as usize;
        entries[at] = entry;
        self.pushed = self.pushed.checked_add(1).ok_or(AnchorsError::Overflow)?;
        Ok(())
    }

    /// The entry of batch `seq`, while it is in this log's window.
    pub fn get(entries: &[BatchEntry], seq: u64) -> Option<&BatchEntry> {
        (seq > 0).then(|| entries.iter().find(|e| e.seq == seq))?
    }

    /// Reads a whole log account off chain (any alignment).
    pub fn decode(data: &[u8]) -> Result<BatchWindow> {
        require!(
            data.len() >= LOG_HEADER && data[..8] == *Self::DISCRIMINATOR,
            AnchorsError::BadLog
        );
        let header: BatchLog = bytemuck::pod_read_unaligned(&data[8..LOG_HEADER]);
        let entries = data[LOG_HEADER..Self::space(Self::entries_in(data.len()))]
            .chunks_exact(ENTRY_SIZE)
            .map(bytemuck::pod_read_unaligned)
            .filter(|e: &BatchEntry| e.seq > 0)
            .collect();
        Ok(BatchWindow {
            submitter: header.submitter,
            pushed: header.pushed,
            entries,
        })
    }
}

/// A copy of one submitter's batch log, read off chain ([`BatchLog::decode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchWindow {
    /// Whose log it is.
    pub submitter: Pubkey,
    /// Batches it anchored in all (the window keeps the last `WINDOW`).
    pub pushed: u64,
    /// The entries written so far, in ring order (not by seq).
    pub entries: Vec<BatchEntry>,
}

impl BatchWindow {
    /// The entry of batch `seq`, while it is in the window.
    pub fn get(&self, seq: u64) -> Option<&BatchEntry> {
        BatchLog::get(&self.entries, seq)
    }

    /// The seq of this submitter's last batch (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.entries.iter().map(|e| e.seq).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64) -> BatchEntry {
        BatchEntry {
            seq,
            root: [seq as u8; 32],
            count: 1,
            slot: seq,
            ..Default::default()
        }
    }

    #[test]
    fn an_entry_is_96_bytes_and_a_log_fits_one_instruction() {
        assert_eq!(ENTRY_SIZE, 96);
        assert_eq!(LOG_HEADER, 56);
        // An account a program creates grows by at most 10 KiB per instruction.
        assert!(BatchLog::space(WINDOW as usize) <= 10 * 1024);
    }

    #[test]
    fn the_window_wraps_and_forgets_the_oldest() {
        let mut data = vec![0u8; BatchLog::space(WINDOW as usize)];
        data[..8].copy_from_slice(BatchLog::DISCRIMINATOR);
        // Seqs are global: this submitter's are every other one.
        for i in 1..=(WINDOW as u64 + 10) {
            // An aligned copy, as the runtime gives a program.
            let mut aligned = vec![0u64; data.len().div_ceil(8)];
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut aligned);
            let bytes = &mut bytes[..data.len()];
            bytes.copy_from_slice(&data);
            let (header, entries) = BatchLog::split_mut(bytes).unwrap();
            header.push(entries, entry(2 * i)).unwrap();
            data.copy_from_slice(bytes);
        }
        let log = BatchLog::decode(&data).unwrap();
        assert_eq!(log.entries.len(), WINDOW as usize);
        assert_eq!(log.pushed, WINDOW as u64 + 10);
        assert_eq!(log.last_seq(), 2 * (WINDOW as u64 + 10));
        assert!(log.get(0).is_none());
        assert!(log.get(20).is_none(), "pushed out");
        assert!(log.get(23).is_none(), "another submitter's");
        assert_eq!(log.get(22).unwrap().seq, 22);
        assert!(log.get(2 * (WINDOW as u64 + 11)).is_none(), "not yet");
    }

    #[test]
    fn a_log_of_the_wrong_size_or_a_seq_of_zero_is_refused() {
        let mut header = BatchLog {
            version: 1,
            bump: 0,
            _reserved: [0; 6],
            pushed: 0,
            submitter: Pubkey::default(),
        };
        let mut entries: Vec<BatchEntry> = Vec::new();
        assert!(header.push(&mut entries, entry(1)).is_err());
        let mut entries = vec![BatchEntry::default(); WINDOW as usize];
        assert!(header.push(&mut entries, entry(0)).is_err());
        assert_eq!(header.pushed, 0, "nothing changed");
    }

    #[test]
    fn other_accounts_do_not_decode_as_a_log() {
        assert!(BatchLog::decode(&[0u8; 40]).is_err());
        assert!(BatchLog::decode(&[]).is_err());
    }
}
