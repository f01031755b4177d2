//! Who may act for an address: the address itself, or a delegate its
//! `security` aggregate authorizes.

use aether_sdk::message::{Content, Message};
use rusqlite::{OptionalExtension, Transaction};
use serde_json::Value;

use super::{codes, rejected, Outcome};
use crate::store::{Cached, StoreError};

/// `None` when the sender may act for the content's address.
pub(super) fn permission(
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
