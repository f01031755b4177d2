//! What a message does to the node's state, once its shape, hash and
//! signature are checked: permission, the content it refers to, then its
//! effects. Runs inside the writer's transaction, so a message is applied
//! whole or not at all.

use aether_sdk::message::{Content, ItemType, MachineVolume, Message, MessageType};
use aether_sdk::node_client::MessageStatus;
use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::{json, Map, Value};

use crate::store::{self, Cached, StoreError};

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

fn decide(
    tx: &Transaction<'_>,
    message: &Message,
    content: &Content,
) -> Result<Outcome, StoreError> {
    if let Some(refusal) = permission(tx, message, content)? {
        return Ok(refusal);
    }
    let address = content.address().unwrap_or_default();
    Ok(match content {
        Content::Post(post) if post.post_type == "amend" => {
            let target = match &post.reference {
                Some(aether_sdk::message::PostRef::Hash(h)) => h.clone(),
                _ => {
                    return Ok(rejected(
                        codes::BAD_REFERENCE,
                        "an amend refers to a post by its item hash",
                    ))
                }
            };
            let original: Option<(String, i64)> = tx
                .row(
                    "SELECT address, is_amend FROM posts WHERE item_hash = ?1",
                    [&target],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match original {
                None => rejected(
                    codes::BAD_REFERENCE,
                    format!("content.ref: no post {target} to amend"),
                ),
                Some((_, 1)) => rejected(
                    codes::BAD_REFERENCE,
                    "content.ref: an amend amends the original post, not another amend",
                ),
                Some((owner, _)) if owner != address => rejected(
                    codes::PERMISSION,
                    format!("content.ref: post {target} belongs to {owner}"),
                ),
                Some(_) => Outcome::Processed,
            }
        }
        Content::Store(store_content) => match store::find_file(tx, &store_content.item_hash)? {
            Some(_) => Outcome::Processed,
            None => Outcome::Pending(format!("file {} is not here yet", store_content.item_hash)),
        },
        Content::Program(program) => {
            let mut refs = vec![
                ("content.code.ref", program.code.reference.clone()),
                ("content.runtime.ref", program.runtime.reference.clone()),
            ];
            if let Some(data) = &program.data {
                refs.push(("content.data.ref", data.reference.clone()));
            }
            refs.extend(immutable_refs(&program.volumes));
            missing_volume(tx, &refs)?.unwrap_or(Outcome::Processed)
        }
        Content::Instance(instance) => {
            let mut refs = vec![(
                "content.rootfs.parent.ref",
                instance.rootfs.parent.reference.clone(),
            )];
            refs.extend(immutable_refs(&instance.volumes));
            missing_volume(tx, &refs)?.unwrap_or(Outcome::Processed)
        }
        Content::Forget(forget) => {
            for (field, target) in forget
                .hashes
                .iter()
                .map(|h| ("content.hashes", h))
                .chain(forget.aggregates.iter().map(|h| ("content.aggregates", h)))
            {
                let row: Option<(String, Option<String>, String)> = tx
                    .row(
                        "SELECT type, address, status FROM messages WHERE item_hash = ?1",
                        [target],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()?;
                match row {
                    None => {
                        return Ok(rejected(
                            codes::BAD_REFERENCE,
                            format!("{field}: no message {target}"),
                        ))
                    }
                    Some((t, ..)) if t == MessageType::Forget.as_str() => {
                        return Ok(rejected(
                            codes::BAD_REFERENCE,
                            format!("{field}: a FORGET cannot be forgotten"),
                        ))
                    }
                    Some((_, owner, _)) if owner.as_deref() != Some(address) => {
                        return Ok(rejected(
                            codes::PERMISSION,
                            format!("{field}: {target} belongs to {}", owner.unwrap_or_default()),
                        ))
                    }
                    Some(_) => {}
                }
            }
            Outcome::Processed
        }
        _ => Outcome::Processed,
    })
}

fn immutable_refs(volumes: &[MachineVolume]) -> Vec<(&'static str, String)> {
    volumes
        .iter()
        .filter_map(|v| match v {
            MachineVolume::Immutable(v) => Some(("content.volumes.ref", v.reference.clone())),
            MachineVolume::Persistent(p) => p
                .parent
                .as_ref()
                .map(|p| ("content.volumes.parent.ref", p.reference.clone())),
            MachineVolume::Ephemeral(_) => None,
        })
        .collect()
}

/// The first volume that is neither a processed STORE nor a file held here.
fn missing_volume(
    tx: &Transaction<'_>,
    refs: &[(&str, String)],
) -> Result<Option<Outcome>, StoreError> {
    for (field, reference) in refs {
        let stored: bool = tx.row(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE item_hash = ?1 AND type = 'STORE' AND status = 'processed')",
            [reference],
            |r| r.get(0),
        )?;
        if !stored && store::find_file(tx, reference)?.is_none() {
            return Ok(Some(rejected(
                codes::MISSING_CONTENT,
                format!("{field}: {reference} is neither a STORE message nor a file on this node"),
            )));
        }
    }
    Ok(None)
}

/// `None` when the sender may act for the content's address.
fn permission(
    tx: &Transaction<'_>,
    message: &Message,
    content: &Content,
) -> Result<Option<Outcome>, StoreError> {
    let Some(address) = content.address() else {
        return Ok(Some(rejected(
            codes::INVALID_CONTENT,
            "content.address: missing",
        )));
    };
    if address == message.sender {
        return Ok(None);
    }
    if let Content::Aggregate(a) = content {
        if a.key.name() == "security" {
            return Ok(Some(rejected(
                codes::PERMISSION,
                "only the address itself may write its security aggregate",
            )));
        }
    }
    let security: Option<String> = tx
        .row(
            "SELECT content FROM aggregates WHERE address = ?1 AND key = 'security'",
            [address],
            |r| r.get(0),
        )
        .optional()?;
    let security: Value = security
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    let allowed = security["authorizations"]
        .as_array()
        .is_some_and(|list| list.iter().any(|auth| authorizes(auth, message, content)));
    Ok((!allowed).then(|| {
        rejected(
            codes::PERMISSION,
            format!(
                "sender {} may not act for {address}: no matching entry in its security aggregate",
                message.sender
            ),
        )
    }))
}

/// One entry of a `security` aggregate's `authorizations`: the delegate's
/// address, and optional lists narrowing what it may do.
fn authorizes(auth: &Value, message: &Message, content: &Content) -> bool {
    let within = |field: &str, value: Option<&str>| match auth.get(field).and_then(Value::as_array)
    {
        None => true,
        Some(list) if list.is_empty() => true,
        Some(list) => value.is_some_and(|v| list.iter().any(|x| x.as_str() == Some(v))),
    };
    let post_type = match content {
        Content::Post(p) => Some(p.post_type.as_str()),
        _ => None,
    };
    let key = match content {
        Content::Aggregate(a) => Some(a.key.name()),
        _ => None,
    };
    auth.get("address").and_then(Value::as_str) == Some(message.sender.as_str())
        && auth
            .get("chain")
            .and_then(Value::as_str)
            .is_none_or(|c| c == message.chain.as_str())
        && within("types", Some(message.message_type.as_str()))
        && within("channels", message.channel.as_deref())
        && (post_type.is_none() || within("post_types", post_type))
        && (key.is_none() || within("aggregate_keys", key))
}

/// A pending `outcome` stays pending only while its item hash has room
/// for one more claim (or `message` already holds one); see
/// [`MAX_CLAIMS_PER_HASH`].
fn room_to_wait(
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
fn claim(
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

/// Writes the row shown for `message`'s item hash. A processed message,
/// or any attempt over a rejected one, replaces it whole (who sent it
/// included); otherwise only the same message again does (the signature
/// covers sender, type and hash only, so a replay that changes the item
/// type, content, channel or time is not the same), so a stranger's
/// refused or waiting claim never decides what another's message shows as.
fn write_row(
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

fn effects(
    tx: &Transaction<'_>,
    message: &Message,
    content: &Content,
    now: f64,
) -> Result<(), StoreError> {
    // Content kept in storage stays while the message lives.
    if message.item_type != ItemType::Inline {
        if let Some(file) = store::find_file(tx, &message.item_hash)? {
            pin(tx, &file.sha256, &message.item_hash)?;
        }
    }
    match content {
        Content::Post(post) => {
            let reference = match &post.reference {
                Some(aether_sdk::message::PostRef::Hash(h)) => Some(h.clone()),
                _ => None,
            };
            tx.exec(
                "INSERT OR REPLACE INTO posts (item_hash, address, post_type, ref, time, is_amend) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![message.item_hash, post.address, post.post_type, reference, post.time, post.post_type == "amend"],
            )?;
        }
        Content::Aggregate(aggregate) => {
            tx.exec(
                "INSERT OR REPLACE INTO aggregate_elements (item_hash, address, key, time, content) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    message.item_hash,
                    aggregate.address,
                    aggregate.key.name(),
                    aggregate.time,
                    Value::Object(aggregate.content.clone()).to_string()
                ],
            )?;
            rebuild_aggregate(tx, &aggregate.address, aggregate.key.name(), now)?;
        }
        Content::Store(store_content) => {
            if let Some(file) = store::find_file(tx, &store_content.item_hash)? {
                pin(tx, &file.sha256, &message.item_hash)?;
            }
        }
        Content::Forget(forget) => {
            for target in forget.hashes.iter().chain(&forget.aggregates) {
                forget_one(tx, target, &message.item_hash, now)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn pin(tx: &Transaction<'_>, file: &str, item_hash: &str) -> Result<(), StoreError> {
    tx.exec(
        "INSERT OR IGNORE INTO file_pins (file, item_hash) VALUES (?1, ?2)",
        params![file, item_hash],
    )?;
    Ok(())
}

/// Merges the aggregate's elements in time order (later keys win).
fn rebuild_aggregate(
    tx: &Transaction<'_>,
    address: &str,
    key: &str,
    now: f64,
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT content, time FROM aggregate_elements WHERE address = ?1 AND key = ?2 ORDER BY time, item_hash",
    )?;
    let elements = stmt
        .query_map(params![address, key], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    if elements.is_empty() {
        tx.exec(
            "DELETE FROM aggregates WHERE address = ?1 AND key = ?2",
            params![address, key],
        )?;
        return Ok(());
    }
    let mut merged = Map::new();
    for (content, _) in &elements {
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(content) {
            merged.extend(map);
        }
    }
    let created = elements.first().map(|e| e.1).unwrap_or(now);
    let updated = elements.last().map(|e| e.1).unwrap_or(now);
    tx.exec(
        "INSERT OR REPLACE INTO aggregates (address, key, content, created, last_updated) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![address, key, Value::Object(merged).to_string(), created, updated],
    )?;
    Ok(())
}

/// Removes a message's content and effects, keeping a tombstone.
fn forget_one(tx: &Transaction<'_>, target: &str, by: &str, now: f64) -> Result<(), StoreError> {
    let previous: Option<String> = tx
        .row(
            "SELECT forgotten_by FROM messages WHERE item_hash = ?1",
            [target],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let mut by_list: Vec<String> = previous
        .and_then(|p| serde_json::from_str(&p).ok())
        .unwrap_or_default();
    if !by_list.iter().any(|b| b == by) {
        by_list.push(by.to_string());
    }
    tx.exec(
        "UPDATE messages SET item_content = NULL, content = NULL, status = 'forgotten', forgotten_by = ?2 WHERE item_hash = ?1",
        params![target, json!(by_list).to_string()],
    )?;
    tx.exec("DELETE FROM posts WHERE item_hash = ?1", [target])?;
    tx.exec("DELETE FROM file_pins WHERE item_hash = ?1", [target])?;
    let element: Option<(String, String)> = tx
        .row(
            "SELECT address, key FROM aggregate_elements WHERE item_hash = ?1",
            [target],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((address, key)) = element {
        tx.exec(
            "DELETE FROM aggregate_elements WHERE item_hash = ?1",
            [target],
        )?;
        rebuild_aggregate(tx, &address, &key, now)?;
    }
    Ok(())
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
