//! What a message does to the node's state, once its shape, hash and
//! signature are checked: permission, the content it refers to, then its
//! effects. Runs inside the writer's transaction, so a message is applied
//! whole or not at all.
//!
//! Layout: this file the outcomes, [`apply`] and the decision it takes;
//! `permission.rs` who may act for an address; `references.rs` what each
//! type of message refers to; `claims.rs` the messages that wait for their
//! content; `row.rs` the row shown for a message; `effects.rs` what a
//! processed message changes.

use aether_sdk::message::{Content, Message};
use aether_sdk::node_client::MessageStatus;
use rusqlite::{OptionalExtension, Transaction};

use crate::store::{self, Cached, StoreError};

mod claims;
mod effects;
mod permission;
mod references;
mod row;

pub use claims::{claims, waiting_for};

use claims::{claim, room_to_wait};
use effects::effects;
use permission::permission;
use row::write_row;

/// What became of a message.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Accepted and applied.
    Processed,
    /// Stored, waiting for content it refers to.
    Pending(String),
    /// Refused, for a reason a person can act on.
    Rejected {
        /// A stable code (see [`codes`]).
        code: i64,
        /// Why.
        reason: String,
    },
    /// Already known: the status it has.
    Known(MessageStatus),
}

/// Stable codes of refusals.
pub mod codes {
    /// The content does not parse or is invalid.
    pub const INVALID_CONTENT: i64 = 1;
    /// The sender may not act for the content's address.
    pub const PERMISSION: i64 = 2;
    /// What the message refers to does not exist or is not the sender's.
    pub const BAD_REFERENCE: i64 = 3;
    /// A volume or file the message needs is unknown.
    pub const MISSING_CONTENT: i64 = 4;
    /// Too many messages already wait for the same content; send again
    /// once it is here.
    pub const TOO_MANY_WAITING: i64 = 5;
}

/// How many claims may wait on one item hash at once. Keys cost nothing,
/// so without a bound a stranger could pile up claims on a hash that the
/// content's arrival would then have to process in one transaction. The
/// slots free as soon as the content comes (every claim is then decided).
pub const MAX_CLAIMS_PER_HASH: usize = 64;

fn rejected(code: i64, reason: impl Into<String>) -> Outcome {
    Outcome::Rejected {
        code,
        reason: reason.into(),
    }
}

/// The file a message may wait for: a STORE's file, or the message's own
/// content when it is stored apart (`content` is `None`).
pub fn awaited_file(message: &Message, content: Option<&Content>) -> Option<String> {
    match content {
        Some(Content::Store(store)) => Some(store.item_hash.clone()),
        None => Some(message.item_hash.clone()),
        Some(_) => None,
    }
}

/// Applies `message` (checked for shape, hash and signature). `content` is
/// its parsed content when inline; `load` reads a stored file by sha256.
pub fn apply(
    tx: &Transaction<'_>,
    message: &Message,
    content: Option<Content>,
    load: &dyn Fn(&str) -> Option<Vec<u8>>,
    now: f64,
) -> Result<Outcome, StoreError> {
    let existing: Option<MessageStatus> = tx
        .row(
            "SELECT status FROM messages WHERE item_hash = ?1",
            [&message.item_hash],
            |r| store::status_at(r, 0),
        )
        .optional()?;
    // A rejected attempt is not the message: whoever sent it, a later
    // attempt with the same hash is decided on its own.
    if let Some(status) = existing {
        if !matches!(status, MessageStatus::Pending | MessageStatus::Rejected) {
            return Ok(Outcome::Known(status));
        }
    }
    let content = match content {
        Some(c) => c,
        None => {
            let stored = store::find_file(tx, &message.item_hash)?.and_then(|f| load(&f.sha256));
            match stored {
                None => {
                    let outcome = room_to_wait(
                        tx,
                        message,
                        Outcome::Pending(format!("content {} is not here yet", message.item_hash)),
                    )?;
                    write_row(tx, message, None, &outcome, now)?;
                    claim(tx, message, &outcome, now)?;
                    return Ok(outcome);
                }
                Some(bytes) => match message.content_from(&bytes) {
                    Ok(c) => c,
                    Err(e) => {
                        let outcome = rejected(codes::INVALID_CONTENT, e.to_string());
                        write_row(tx, message, None, &outcome, now)?;
                        claim(tx, message, &outcome, now)?;
                        return Ok(outcome);
                    }
                },
            }
        }
    };
    let outcome = room_to_wait(tx, message, decide(tx, message, &content)?)?;
    write_row(tx, message, Some(&content), &outcome, now)?;
    claim(tx, message, &outcome, now)?;
    if outcome == Outcome::Processed {
        effects(tx, message, &content, now)?;
    }
    Ok(outcome)
}

/// Whether `content` can be processed now, waits for content it refers
/// to, or is refused: who may act for its address, then what it refers to.
fn decide(
    tx: &Transaction<'_>,
    message: &Message,
    content: &Content,
) -> Result<Outcome, StoreError> {
    if let Some(refusal) = permission(tx, message, content)? {
        return Ok(refusal);
    }
    let address = content.address().unwrap_or_default();
    match content {
        Content::Post(post) if post.post_type == "amend" => references::amend(tx, post, address),
        Content::Store(store_content) => references::store_file(tx, store_content),
        Content::Program(program) => references::program_volumes(tx, program),
        Content::Instance(instance) => references::instance_volumes(tx, instance),
        Content::Forget(forget) => references::forget_targets(tx, forget, address),
        _ => Ok(Outcome::Processed),
    }
}
