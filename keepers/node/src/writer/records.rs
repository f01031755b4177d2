//! What the jobs other than messages write: collected files, files now on
//! disk (and the messages that waited for them), status changes of held
//! content, anchored batches.

use aether_sdk::message::Message;
use tokio::sync::oneshot;

use super::batch::{content_json_of, Reply};
use super::{AnchoredBatch, Processed, StatusChange};
use crate::files::Written;
use crate::process::{self, Outcome};
use crate::store::{self, Cached, StoreError};

/// Drops the records of files no message pins, created before `before`;
/// returns their sha256s.
pub(super) fn collect_unpinned(
    tx: &rusqlite::Transaction<'_>,
    before: f64,
) -> Result<Vec<String>, StoreError> {
    store::unpinned_files(tx, before).and_then(|files| {
        for file in &files {
            tx.exec("DELETE FROM files WHERE sha256 = ?1", [file])?;
        }
        Ok(files)
    })
}

/// Records a file now on disk, then applies the messages waiting for it.
pub(super) fn record_file(
    tx: &rusqlite::Transaction<'_>,
    written: &Written,
    load: &dyn Fn(&str) -> Option<Vec<u8>>,
    now: f64,
    replies: &mut Vec<Reply>,
) -> Result<(), StoreError> {
    store::insert_file(
        tx,
        &written.sha256,
        &written.cid_v0,
        &written.cid_v1,
        written.size,
        now,
    )
    .and_then(|()| retry_waiting(tx, written, load, now, replies))
}

/// One status change; a message no longer in the status it expects (a
/// FORGET came first) is left as it is.
pub(super) fn apply_status(
    tx: &rusqlite::Transaction<'_>,
    change: &StatusChange,
) -> Result<(), StoreError> {
    match change {
        StatusChange::Mark {
            item_hash,
            collect_at,
            reason,
        } => tx.exec(
            "UPDATE messages SET status = 'removing', collect_at = ?2, reason = ?3 \
             WHERE item_hash = ?1 AND status = 'processed'",
            rusqlite::params![item_hash, collect_at, reason],
        )?,
        StatusChange::Restore { item_hash } => tx.exec(
            "UPDATE messages SET status = 'processed', collect_at = NULL, reason = NULL \
             WHERE item_hash = ?1 AND status = 'removing'",
            [item_hash],
        )?,
        StatusChange::Collect { item_hash } => {
            let changed = tx.exec(
                "UPDATE messages SET status = 'removed' WHERE item_hash = ?1 AND status = 'removing'",
                [item_hash],
            )?;
            if changed > 0 {
                tx.exec("DELETE FROM file_pins WHERE item_hash = ?1", [item_hash])?;
            }
            changed
        }
    };
    Ok(())
}

/// Messages that were waiting for this file are applied now.
fn retry_waiting(
    tx: &rusqlite::Transaction<'_>,
    written: &Written,
    load: &dyn Fn(&str) -> Option<Vec<u8>>,
    now: f64,
    replies: &mut Vec<Reply>,
) -> Result<(), StoreError> {
    let waiting = process::waiting_for(tx, &[&written.sha256, &written.cid_v0, &written.cid_v1])?;
    for item_hash in waiting {
        // Each claim on the hash as its sender sent it; a row from before
        // claims were kept stands for its own.
        let mut messages: Vec<Message> = process::claims(tx, &item_hash)?
            .iter()
            .filter_map(|json| serde_json::from_str::<serde_json::Value>(json).ok())
            .filter_map(|value| Message::from_value(&value).ok())
            .collect();
        if messages.is_empty() {
            let Some(stored) = store::get_message(tx, &item_hash)? else {
                continue;
            };
            let Ok(message) = Message::from_value(&stored.record) else {
                continue;
            };
            messages.push(message);
        }
        for message in messages {
            retry(tx, message, load, now, replies)?;
        }
    }
    Ok(())
}

/// Applies one waiting message again, now that its file is here.
fn retry(
    tx: &rusqlite::Transaction<'_>,
    message: Message,
    load: &dyn Fn(&str) -> Option<Vec<u8>>,
    now: f64,
    replies: &mut Vec<Reply>,
) -> Result<(), StoreError> {
    let content = message
        .item_content
        .as_ref()
        .and_then(|_| message.content().ok());
    let content_json = content_json_of(&message, content.as_ref());
    let outcome = process::apply(tx, &message, content, load, now)?;
    if outcome == Outcome::Processed {
        // Nobody waits on this reply; it feeds the live stream.
        let (reply, _) = oneshot::channel();
        replies.push(Reply::Message(
            reply,
            Ok(outcome),
            Some(Box::new(Processed {
                message,
                content: content_json.unwrap_or_default(),
            })),
        ));
    }
    Ok(())
}

pub(super) fn record_batch(
    tx: &rusqlite::Transaction<'_>,
    batch: &AnchoredBatch,
    now: f64,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT OR REPLACE INTO batches (seq, root, count, file, cid, signature, created, submitter) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![
            batch.seq as i64,
            batch.root,
            batch.item_hashes.len() as i64,
            batch.file,
            batch.cid,
            batch.signature,
            now,
            batch.submitter
        ],
    )?;
    let mut item = tx.prepare_cached(
        "INSERT OR REPLACE INTO batch_items (seq, idx, item_hash) VALUES (?1, ?2, ?3)",
    )?;
    let mut mark = tx.prepare_cached("UPDATE messages SET anchor_seq = ?1 WHERE item_hash = ?2")?;
    for (idx, hash) in batch.item_hashes.iter().enumerate() {
        item.execute(rusqlite::params![batch.seq as i64, idx as i64, hash])?;
        mark.execute(rusqlite::params![batch.seq as i64, hash])?;
    }
    // The batch file is kept for peers that resync.
    tx.exec(
        "INSERT OR IGNORE INTO file_pins (file, item_hash) VALUES (?1, ?2)",
        rusqlite::params![batch.file, format!("batch:{}", batch.seq)],
    )?;
    Ok(())
}
