//! The row shown for a message's item hash, and the columns the message
//! list filters on.

use aether_sdk::message::{Content, Message};
use aether_sdk::node_client::MessageStatus;
use rusqlite::{params, Transaction};

use super::Outcome;
use crate::store::{Cached, StoreError};

/// Writes the row shown for `message`'s item hash. A processed message,
/// or any attempt over a rejected one, replaces it whole (who sent it
/// included); otherwise only the same message again does (the signature
/// covers sender, type and hash only, so a replay that changes the item
/// type, content, channel or time is not the same), so a stranger's
/// refused or waiting claim never decides what another's message shows as.
pub(super) fn write_row(
    tx: &Transaction<'_>,
    message: &Message,
    content: Option<&Content>,
    outcome: &Outcome,
    now: f64,
) -> Result<(), StoreError> {
    let (status, reason, code) = match outcome {
        Outcome::Processed => (MessageStatus::Processed, None, None),
        Outcome::Pending(r) => (MessageStatus::Pending, Some(r.as_str()), None),
        Outcome::Rejected { code, reason } => {
            (MessageStatus::Rejected, Some(reason.as_str()), Some(*code))
        }
        Outcome::Known(_) => return Ok(()),
    };
    let status = status.as_str();
    // Inline content is stored as sent; content stored apart is written out.
    let content_text: Option<String> = match (content, &message.item_content) {
        (Some(c), None) => Some(c.to_item_content()),
        // Inline content is read back from `item_content`.
        _ => None,
    };
    let Indexed {
        post_type,
        reference,
        content_key,
    } = Indexed::of(content);
    let size = message.item_content.as_ref().map_or(0, |c| c.len() as i64);
    tx.exec(
        "INSERT INTO messages (item_hash, chain, sender, type, channel, signature, time, item_type, item_content, \
         content, address, content_type, content_key, ref, size, status, reason, error_code, reception_time) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19) \
         ON CONFLICT (item_hash) DO UPDATE SET chain = excluded.chain, sender = excluded.sender, \
         type = excluded.type, channel = excluded.channel, signature = excluded.signature, \
         time = excluded.time, item_type = excluded.item_type, item_content = excluded.item_content, \
         content = excluded.content, address = excluded.address, \
         content_type = excluded.content_type, content_key = excluded.content_key, ref = excluded.ref, \
         size = excluded.size, status = excluded.status, reason = excluded.reason, \
         error_code = excluded.error_code, reception_time = excluded.reception_time \
         WHERE excluded.status = 'processed' OR messages.status = 'rejected' \
         OR (messages.sender = excluded.sender AND messages.signature IS excluded.signature \
             AND messages.item_type IS excluded.item_type \
             AND messages.item_content IS excluded.item_content \
             AND messages.channel IS excluded.channel AND messages.time IS excluded.time)",
        params![
            message.item_hash,
            message.chain.as_str(),
            message.sender,
            message.message_type.as_str(),
            message.channel,
            message.signature,
            message.time,
            message.item_type.as_str(),
            message.item_content,
            content_text,
            content.and_then(|c| c.address()).map(str::to_string),
            post_type,
            content_key,
            reference,
            size,
            status,
            reason,
            code,
            now,
        ],
    )?;
    Ok(())
}

/// The columns of a message row that only some content has: a POST's type
/// and the post it refers to, a STORE's ref, an AGGREGATE's key.
struct Indexed {
    post_type: Option<String>,
    reference: Option<String>,
    content_key: Option<String>,
}

impl Indexed {
    fn of(content: Option<&Content>) -> Indexed {
        let post_type = match content {
            Some(Content::Post(p)) => Some(p.post_type.clone()),
            _ => None,
        };
        let reference = match content {
            Some(Content::Post(p)) => match &p.reference {
                Some(aether_sdk::message::PostRef::Hash(h)) => Some(h.clone()),
                _ => None,
            },
            Some(Content::Store(s)) => s.reference.clone(),
            _ => None,
        };
        let content_key = match content {
            Some(Content::Aggregate(a)) => Some(a.key.name().to_string()),
            _ => None,
        };
        Indexed {
            post_type,
            reference,
            content_key,
        }
    }
}
