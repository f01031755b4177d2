//! Aggregates and posts: the documents messages build, as the API shows
//! them.

use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Value};

use super::{message_columns, row_to_stored, Cached, Filter, StoreError, Stored};

/// The aggregates of `address` (only `keys`, when given) with their info.
pub fn aggregates(
    conn: &Connection,
    address: &str,
    keys: &[String],
) -> Result<Vec<(String, Value, f64, f64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, content, created, last_updated FROM aggregates WHERE address = ?1 ORDER BY key",
    )?;
    let rows = stmt
        .query_map([address], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, f64>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter(|(k, ..)| keys.is_empty() || keys.contains(k))
        .map(|(k, c, created, updated)| {
            (
                k,
                serde_json::from_str(&c).unwrap_or(Value::Null),
                created,
                updated,
            )
        })
        .collect())
}

/// A post as listed, with its original's time.
pub type ListedPost = (Value, f64);

/// One page of posts (originals, with their latest amendment applied),
/// each with its original's time, and how many match in all.
pub fn posts(
    conn: &Connection,
    filter: &Filter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<(Value, f64)>, u64), StoreError> {
    // Originals that pass the filter: reuse the message filter on their rows.
    let mut filter = filter.clone();
    filter.types = vec!["POST".into()];
    let (clause, values) = filter.where_clause("m.");
    let base = format!(
        "FROM messages m JOIN posts p ON p.item_hash = m.item_hash AND p.is_amend = 0 WHERE {clause}"
    );
    let total: u64 = conn.row(
        &format!("SELECT COUNT(*) {base}"),
        rusqlite::params_from_iter(values.iter()),
        |r| r.get(0),
    )?;
    let order = if filter.ascending { "ASC" } else { "DESC" };
    let columns = message_columns("m");
    let sql = format!(
        "SELECT {columns} {base} ORDER BY m.time {order} LIMIT {per_page} OFFSET {}",
        page.saturating_sub(1).saturating_mul(per_page)
    );
    let originals = conn
        .prepare(&sql)?
        .query_map(rusqlite::params_from_iter(values.iter()), row_to_stored)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((shaped(conn, originals)?, total))
}

/// Up to `per_page` posts past `after` (from the start when `None`), and
/// where the next page starts when there is one (see
/// [`super::list_messages_after`]).
pub fn posts_after(
    conn: &Connection,
    filter: &Filter,
    after: Option<super::After>,
    per_page: u64,
) -> Result<(Vec<ListedPost>, Option<super::After>), StoreError> {
    let mut filter = filter.clone();
    filter.types = vec!["POST".into()];
    let (originals, next) = super::messages::page_after(
        conn,
        &filter,
        "messages m JOIN posts p ON p.item_hash = m.item_hash AND p.is_amend = 0",
        after,
        per_page,
    )?;
    Ok((shaped(conn, originals)?, next))
}

/// Posts as listed: each original with its latest amendment applied, and
/// the original's time.
fn shaped(conn: &Connection, originals: Vec<Stored>) -> Result<Vec<(Value, f64)>, StoreError> {
    let columns = message_columns("m");
    let mut out = Vec::with_capacity(originals.len());
    for original in originals {
        let hash = original.record["item_hash"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let latest: Option<Stored> = conn
            .row(
                &format!(
                    "SELECT {columns} FROM posts p JOIN messages m ON m.item_hash = p.item_hash \
                     WHERE p.ref = ?1 AND p.is_amend = 1 AND m.status = 'processed' \
                     ORDER BY p.time DESC LIMIT 1"
                ),
                [&hash],
                row_to_stored,
            )
            .optional()?;
        let shown = latest.as_ref().unwrap_or(&original).record.clone();
        let o = &original.record;
        let created = o["time"].as_f64().unwrap_or_default();
        out.push((
            json!({
                "chain": shown["chain"],
                "item_hash": shown["item_hash"],
                "sender": shown["sender"],
                "type": o["content"]["type"],
                "channel": o["channel"],
                "confirmed": false,
                "content": shown["content"]["content"],
                "item_content": shown["item_content"],
                "item_type": shown["item_type"],
                "signature": shown["signature"],
                "size": shown["size"],
                "time": shown["time"],
                "confirmations": [],
                "original_item_hash": hash,
                "original_signature": o["signature"],
                "original_type": o["content"]["type"],
                "hash": shown["item_hash"],
                "ref": o["content"]["ref"],
                "address": o["content"]["address"],
            }),
            created,
        ));
    }
    Ok(out)
}
