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
}

/// One anchored batch: a plain 96-byte record, read and written in place.
#[zero_copy]
#[derive(Debug, PartialEq, Eq, Default)]
pub struct BatchEntry {
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

/// The header of the window of the last `WINDOW` batch roots; the entries
/// follow it in the same account, in place. The account grows by one entry
/// per batch (the submitter pays the rent) until full, then wraps around.
///
/// Nothing here is deserialized onto the heap: SBF's 32 KB bump heap never
/// frees, and a `Vec` of 256 entries read per call would exhaust it.
#[account(zero_copy)]
#[derive(Debug)]
pub struct BatchLog {
    pub version: u8,
    pub bump: u8,
    pub _reserved: [u8; 6],
    /// The seq of the last batch; 0 before the first.
    pub last_seq: u64,
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

    /// Entries once the next batch is in, for an account of `data_len` bytes.
    pub fn next_len(data_len: usize) -> usize {
        (Self::entries_in(data_len) + 1).min(WINDOW as usize)
    }

    /// Where batch `seq` lives in the ring.
    fn slot_of(seq: u64) -> usize {
        ((seq - 1) % u64::from(WINDOW)) as usize
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

    /// Writes the next batch into `entries`, which must already hold room for
    /// it (`next_len`), and returns its seq.
    pub fn push(&mut self, entries: &mut [BatchEntry], mut entry: BatchEntry) -> Result<u64> {
        let seq = self.last_seq.checked_add(1).ok_or(AnchorsError::Overflow)?;
        let expected = seq.min(u64::from(WINDOW)) as usize;
        require!(entries.len() == expected, AnchorsError::BadLog);
        entry.seq = seq;
        entries[Self::slot_of(seq)] = entry;
        self.last_seq = seq;
        Ok(seq)
    }

    /// The entry of batch `seq`, while it is in the window.
    pub fn get(last_seq: u64, entries: &[BatchEntry], seq: u64) -> Option<&BatchEntry> {
        if seq == 0 || seq > last_seq {
            return None;
        }
        let entry = entries.get(Self::slot_of(seq))?;
        (entry.seq == seq).then_some(entry)
    }

    /// Reads a whole log account off chain (any alignment): its header's
    /// `last_seq` and its entries.
    pub fn decode(data: &[u8]) -> Result<BatchWindow> {
        require!(
            data.len() >= LOG_HEADER && data[..8] == *Self::DISCRIMINATOR,
            AnchorsError::BadLog
        );
        let header: BatchLog = bytemuck::pod_read_unaligned(&data[8..LOG_HEADER]);
        let entries = data[LOG_HEADER..Self::space(Self::entries_in(data.len()))]
            .chunks_exact(ENTRY_SIZE)
            .map(bytemuck::pod_read_unaligned)
            .collect();
        Ok(BatchWindow {
            last_seq: header.last_seq,
            entries,
        })
    }
}

/// A copy of the batch log, read off chain ([`BatchLog::decode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchWindow {
    /// The seq of the last batch; 0 before the first.
    pub last_seq: u64,
    /// The ring of entries: batch `seq` is at `(seq - 1) % WINDOW`.
    pub entries: Vec<BatchEntry>,
}

impl BatchWindow {
    /// The entry of batch `seq`, while it is in the window.
    pub fn get(&self, seq: u64) -> Option<&BatchEntry> {
        BatchLog::get(self.last_seq, &self.entries, seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: u64) -> BatchEntry {
        BatchEntry {
            root: [i as u8; 32],
            count: 1,
            slot: i,
            ..Default::default()
        }
    }

    #[test]
    fn an_entry_is_96_bytes_and_the_full_log_fits_an_account() {
        assert_eq!(ENTRY_SIZE, 96);
        assert_eq!(LOG_HEADER, 24);
        assert_eq!(BatchLog::space(WINDOW as usize), 24 + 256 * 96);
    }

    #[test]
    fn the_window_wraps_and_forgets_the_oldest() {
        // The account as it grows: header, then one entry more per batch.
        let mut data = vec![0u8; BatchLog::space(0)];
        data[..8].copy_from_slice(BatchLog::DISCRIMINATOR);
        for i in 1..=(WINDOW as u64 + 10) {
            data.resize(BatchLog::space(BatchLog::next_len(data.len())), 0);
            // An aligned copy, as the runtime gives a program.
            let mut aligned = vec![0u64; data.len().div_ceil(8)];
            let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut aligned);
            let bytes = &mut bytes[..data.len()];
            bytes.copy_from_slice(&data);
            let (header, entries) = BatchLog::split_mut(bytes).unwrap();
            assert_eq!(header.push(entries, entry(i)).unwrap(), i);
            data.copy_from_slice(bytes);
        }
        let log = BatchLog::decode(&data).unwrap();
        assert_eq!(log.entries.len(), WINDOW as usize);
        assert_eq!(log.last_seq, WINDOW as u64 + 10);
        assert!(log.get(0).is_none());
        assert!(log.get(10).is_none(), "pushed out");
        assert_eq!(log.get(11).unwrap().seq, 11);
        assert_eq!(
            log.get(WINDOW as u64 + 10).unwrap().root,
            [(WINDOW + 10) as u8; 32]
        );
        assert!(log.get(WINDOW as u64 + 11).is_none(), "not yet");
    }

    #[test]
    fn a_log_without_room_for_the_next_batch_is_refused() {
        let mut header = BatchLog {
            version: 1,
            bump: 0,
            _reserved: [0; 6],
            last_seq: 0,
        };
        let mut entries: Vec<BatchEntry> = Vec::new();
        assert!(header.push(&mut entries, entry(1)).is_err());
        assert_eq!(header.last_seq, 0, "nothing changed");
    }

    #[test]
    fn other_accounts_do_not_decode_as_a_log() {
        assert!(BatchLog::decode(&[0u8; 40]).is_err());
        assert!(BatchLog::decode(&[]).is_err());
    }
}
