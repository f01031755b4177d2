//! What an address holds, as Aleph's account and aggregate listings show
//! it: every aggregate (by addresses and keys) and the files of an
//! address's STOREs.

use rusqlite::Connection;
use serde_json::Value;

use super::{Cached, StoreError};

/// One aggregate: address, key, content, created, last updated.
pub type AggregateRow = (String, String, Value, f64, f64);

/// How aggregates are listed.
pub struct AggregateQuery {
    /// Only these addresses (all when empty).
    pub addresses: Vec<String>,
    /// Only these keys (all when empty).
    pub keys: Vec<String>,
    /// Sorted by creation time rather than last update.
    pub by_creation: bool,
    /// Oldest first.
    pub ascending: bool,
}

/// One page of aggregates and how many match in all.
pub fn aggregate_list(
    conn: &Connection,
    query: &AggregateQuery,
    page: u64,
    per_page: u64,
) -> Result<(Vec<AggregateRow>, u64), StoreError> {
    let mut clauses = vec!["1 = 1".to_owned()];
    let mut values: Vec<String> = Vec::new();
    for (column, list) in [("address", &query.addresses), ("key", &query.keys)] {
        if !list.is_empty() {
            let marks: Vec<String> = list
                .iter()
                .map(|v| {
                    values.push(v.clone());
                    format!("?{}", values.len())
                })
                .collect();
            clauses.push(format!("{column} IN ({})", marks.join(", ")));
        }
    }
    let filter = clauses.join(" AND ");
    let total: u64 = conn.row(
        &format!("SELECT COUNT(*) FROM aggregates WHERE {filter}"),
        rusqlite::params_from_iter(values.iter()),
        |r| r.get(0),
    )?;
    let column = if query.by_creation {
        "created"
    } else {
        "last_updated"
    };
    let order = if query.ascending { "ASC" } else { "DESC" };
    let sql = format!(
        "SELECT address, key, content, created, last_updated FROM aggregates WHERE {filter} \
         ORDER BY {column} {order}, address, key LIMIT {per_page} OFFSET {}",
        page.saturating_sub(1).saturating_mul(per_page)
    );
    let rows = conn
        .prepare(&sql)?
        .query_map(rusqlite::params_from_iter(values.iter()), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, f64>(3)?,
                r.get::<_, f64>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        rows.into_iter()
            .map(|(a, k, c, created, updated)| {
                let content = serde_json::from_str(&c).unwrap_or(Value::Null);
                (a, k, content, created, updated)
            })
            .collect(),
        total,
    ))
}

/// A file a STORE of the address keeps.
pub struct AddressFile {
    /// The file's hash, as the STORE names it.
    pub file_hash: String,
    /// Its size in bytes (0 while the file is not here).
    pub size: u64,
    /// When the STORE was sent.
    pub time: f64,
    /// The STORE's item hash.
    pub item_hash: String,
}

/// One page of the files `address`'s processed STOREs keep, newest first,
/// with how many there are and their total size.
pub fn files_of(
    conn: &Connection,
    address: &str,
    page: u64,
    per_page: u64,
) -> Result<(Vec<AddressFile>, u64, u64), StoreError> {
    const HELD: &str = "FROM messages m \
         LEFT JOIN files f ON f.sha256 = json_extract(COALESCE(m.content, m.item_content), '$.item_hash') \
            OR f.cid_v0 = json_extract(COALESCE(m.content, m.item_content), '$.item_hash') \
            OR f.cid_v1 = json_extract(COALESCE(m.content, m.item_content), '$.item_hash') \
         WHERE m.address = ?1 AND m.type = 'STORE' AND m.status = 'processed'";
    let (total, total_size): (u64, i64) = conn.row(
        &format!("SELECT COUNT(*), COALESCE(SUM(f.size), 0) {HELD}"),
        [address],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let sql = format!(
        "SELECT json_extract(COALESCE(m.content, m.item_content), '$.item_hash'), COALESCE(f.size, 0), m.time, m.item_hash \
         {HELD} ORDER BY m.time DESC, m.item_hash LIMIT {per_page} OFFSET {}",
        page.saturating_sub(1).saturating_mul(per_page)
    );
    let files = conn
        .prepare(&sql)?
        .query_map([address], |r| {
            Ok(AddressFile {
                file_hash: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                size: r.get::<_, i64>(1)?.max(0) as u64,
                time: r.get(2)?,
                item_hash: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((files, total, total_size.max(0) as u64))
}
