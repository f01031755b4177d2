//! Anchored batches: the messages no batch holds yet, and the batch that
//! holds a message.

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use super::{message_columns, row_to_stored, Cached, StoreError};

/// Processed messages no batch holds yet, oldest first: (item hash, envelope).
pub fn unanchored(conn: &Connection, limit: usize) -> Result<Vec<(String, Value)>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM messages WHERE status = 'processed' AND anchor_seq IS NULL \
         ORDER BY rowid LIMIT ?1",
        message_columns("messages")
    ))?;
    let rows = stmt
        .query_map([limit as i64], row_to_stored)?
        .map(|r| {
            r.map(|s| {
                let mut envelope = s.record;
                if let Some(o) = envelope.as_object_mut() {
                    for node_field in ["content", "size", "confirmations", "confirmed"] {
                        o.remove(node_field);
                    }
                }
                (
                    envelope["item_hash"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    envelope,
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Where a message sits in an anchored batch.
pub struct BatchOf {
    /// The key that anchored the batch, base58 (empty for a batch recorded
    /// before submitters were).
    pub submitter: String,
    /// The batch's seq.
    pub seq: u64,
    /// The message's index in it.
    pub index: u32,
    /// Every item hash of the batch, in order.
    pub hashes: Vec<String>,
}

/// The batch holding `item_hash` (the latest, if several).
pub fn batch_of(conn: &Connection, item_hash: &str) -> Result<Option<BatchOf>, StoreError> {
    let found: Option<(i64, i64, Option<String>)> = conn
        .row(
            "SELECT i.seq, i.idx, b.submitter FROM batch_items i JOIN batches b ON b.seq = i.seq \
             WHERE i.item_hash = ?1 ORDER BY i.seq DESC LIMIT 1",
            [item_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((seq, idx, submitter)) = found else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare_cached("SELECT item_hash FROM batch_items WHERE seq = ?1 ORDER BY idx")?;
    let hashes = stmt
        .query_map([seq], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(BatchOf {
        submitter: submitter.unwrap_or_default(),
        seq: seq as u64,
        index: idx as u32,
        hashes,
    }))
}
