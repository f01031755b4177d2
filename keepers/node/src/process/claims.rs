//! Messages waiting for their content: each sender's claim on an item
//! hash, kept as sent, the bound on how many may wait, and which wait for
//! a file.

use aether_sdk::message::Message;
use rusqlite::{params, Transaction};

use super::{codes, rejected, Outcome, MAX_CLAIMS_PER_HASH};
use crate::store::{Cached, StoreError};

/// A pending `outcome` stays pending only while its item hash has room
/// for one more claim (or `message` already holds one); see
/// [`MAX_CLAIMS_PER_HASH`].
pub(super) fn room_to_wait(
    tx: &Transaction<'_>,
    message: &Message,
    outcome: Outcome,
) -> Result<Outcome, StoreError> {
    if !matches!(outcome, Outcome::Pending(_)) {
        return Ok(outcome);
    }
    let (held, mine): (i64, bool) = tx.row(
        "SELECT COUNT(*), COALESCE(MAX(sender = ?2 AND signature = ?3), 0) \
         FROM pending_claims WHERE item_hash = ?1",
        params![message.item_hash, message.sender, message.signature],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if mine || usize::try_from(held).unwrap_or(usize::MAX) < MAX_CLAIMS_PER_HASH {
        return Ok(outcome);
    }
    Ok(rejected(
        codes::TOO_MANY_WAITING,
        format!(
            "{MAX_CLAIMS_PER_HASH} messages already wait for the content of {}: send again once it is here",
            message.item_hash
        ),
    ))
}

/// Keeps `message`'s own claim on its item hash while it waits for
/// content (every sender's apart), drops it once it is refused, and drops
/// every claim once the hash is processed.
pub(super) fn claim(
    tx: &Transaction<'_>,
    message: &Message,
    outcome: &Outcome,
    now: f64,
) -> Result<(), StoreError> {
    match outcome {
        Outcome::Pending(_) => {
            let json = serde_json::to_string(message)?;
            tx.exec(
                "INSERT OR IGNORE INTO pending_claims (item_hash, sender, signature, message, reception_time) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![message.item_hash, message.sender, message.signature, json, now],
            )?;
        }
        Outcome::Rejected { .. } => {
            tx.exec(
                "DELETE FROM pending_claims WHERE item_hash = ?1 AND sender = ?2 AND signature = ?3",
                params![message.item_hash, message.sender, message.signature],
            )?;
        }
        Outcome::Processed => {
            tx.exec(
                "DELETE FROM pending_claims WHERE item_hash = ?1",
                [&message.item_hash],
            )?;
        }
        Outcome::Known(_) => {}
    }
    Ok(())
}

/// The claims waiting on `item_hash`, oldest first, as sent.
pub fn claims(tx: &Transaction<'_>, item_hash: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT message FROM pending_claims WHERE item_hash = ?1 ORDER BY reception_time, sender",
    )?;
    let rows = stmt
        .query_map([item_hash], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Pending messages waiting for the file known by any of `hashes`.
pub fn waiting_for(tx: &Transaction<'_>, hashes: &[&str]) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    let mut stmt = tx.prepare_cached(
        "SELECT item_hash FROM messages WHERE status = 'pending' \
         AND (item_hash = ?1 OR json_extract(COALESCE(content, item_content), '$.item_hash') = ?1)",
    )?;
    for hash in hashes {
        let rows = stmt
            .query_map([hash], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        out.extend(rows);
    }
    Ok(out)
}
