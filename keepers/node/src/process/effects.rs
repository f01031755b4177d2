//! What a processed message changes beyond its row: the files it pins,
//! posts, aggregates rebuilt from their elements, and what a FORGET
//! removes.

use aether_sdk::message::{Content, ItemType, Message};
use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::{json, Map, Value};

use crate::store::{self, Cached, StoreError};

pub(super) fn effects(
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
