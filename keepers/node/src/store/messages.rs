//! Message rows: their columns, how a row reads back, one message by hash
//! and the message list.

use aether_sdk::node_client::MessageStatus;
use rusqlite::{Connection, OptionalExtension, Row};
use serde_json::{json, Value};

use super::{Cached, Filter, StoreError};

/// The columns of a message row of table (or alias) `t`, in
/// `row_to_stored`'s order. Inline content is kept once, in `item_content`;
/// `content` holds only content read from storage.
pub fn message_columns(t: &str) -> String {
    format!(
        "{t}.item_hash, {t}.chain, {t}.sender, {t}.type, {t}.channel, {t}.signature, {t}.time, \
         {t}.item_type, {t}.item_content, COALESCE({t}.content, {t}.item_content), {t}.size, \
         {t}.status, {t}.reason, {t}.error_code, {t}.forgotten_by, {t}.reception_time"
    )
}

/// A stored message with its status.
#[derive(Clone, Debug)]
pub struct Stored {
    /// The message as received (its content cleared when forgotten).
    pub record: Value,
    /// Where it stands.
    pub status: MessageStatus,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// Rejection code.
    pub error_code: Option<i64>,
    /// The FORGETs that removed it.
    pub forgotten_by: Vec<String>,
    /// When this node received it.
    pub reception_time: f64,
}

/// The status in column `index` of `row`; a word no node writes is an
/// error, not a guess.
pub fn status_at(row: &Row<'_>, index: usize) -> rusqlite::Result<MessageStatus> {
    row.get::<_, String>(index)?.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// A message row as the API shows it.
pub fn row_to_stored(row: &Row<'_>) -> rusqlite::Result<Stored> {
    let content: Option<String> = row.get(9)?;
    let record = json!({
        "item_hash": row.get::<_, String>(0)?,
        "chain": row.get::<_, String>(1)?,
        "sender": row.get::<_, String>(2)?,
        "type": row.get::<_, String>(3)?,
        "channel": row.get::<_, Option<String>>(4)?,
        "signature": row.get::<_, Option<String>>(5)?,
        "time": row.get::<_, f64>(6)?,
        "item_type": row.get::<_, String>(7)?,
        "item_content": row.get::<_, Option<String>>(8)?,
        "content": content.and_then(|c| serde_json::from_str::<Value>(&c).ok()),
        "size": row.get::<_, i64>(10)?,
        "confirmations": [],
        "confirmed": false,
    });
    let forgotten_by: Option<String> = row.get(14)?;
    Ok(Stored {
        record,
        status: status_at(row, 11)?,
        reason: row.get(12)?,
        error_code: row.get(13)?,
        forgotten_by: forgotten_by
            .and_then(|f| serde_json::from_str(&f).ok())
            .unwrap_or_default(),
        reception_time: row.get(15)?,
    })
}

/// The message stored under `item_hash`.
pub fn get_message(conn: &Connection, item_hash: &str) -> Result<Option<Stored>, StoreError> {
    Ok(conn
        .row(
            &format!(
                "SELECT {} FROM messages WHERE item_hash = ?1",
                message_columns("messages")
            ),
            [item_hash],
            row_to_stored,
        )
        .optional()?)
}

/// One page of messages (pages from 1) and the total matching.
pub fn list_messages(
    conn: &Connection,
    filter: &Filter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<Value>, u64), StoreError> {
    let (clause, values) = filter.where_clause("");
    let total: u64 = conn.row(
        &format!("SELECT COUNT(*) FROM messages WHERE {clause}"),
        rusqlite::params_from_iter(values.iter()),
        |r| r.get(0),
    )?;
    let order = if filter.ascending { "ASC" } else { "DESC" };
    let sql = format!(
        // The page is chosen by rowid first, which an index can answer
        // alone; only its rows are then read whole.
        "SELECT {} FROM messages WHERE rowid IN (SELECT rowid FROM messages WHERE {clause} \
         ORDER BY time {order}, rowid {order} LIMIT {} OFFSET {}) ORDER BY time {order}, rowid {order}",
        message_columns("messages"),
        per_page,
        page.saturating_sub(1).saturating_mul(per_page)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(values.iter()), row_to_stored)?
        .map(|r| r.map(|s| s.record))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, total))
}

/// A place in a listing: just past the message at `time` with `rowid`, in
/// the listing's order (time, then the row's order of arrival).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct After {
    /// The last listed message's time.
    #[serde(rename = "t")]
    pub time: f64,
    /// Its row.
    #[serde(rename = "r")]
    pub rowid: i64,
}

/// Up to `per_page` messages past `after` (from the start when `None`),
/// and where the next page starts when there is one. Unlike pages by
/// number, a message that arrives meanwhile neither repeats nor hides one.
pub fn list_messages_after(
    conn: &Connection,
    filter: &Filter,
    after: Option<After>,
    per_page: u64,
) -> Result<(Vec<Value>, Option<After>), StoreError> {
    let (rows, next) = page_after(conn, filter, "messages m", after, per_page)?;
    Ok((rows.into_iter().map(|s| s.record).collect(), next))
}

/// The rows of `from` (which names the messages `m`) passing `filter`, up
/// to `per_page` past `after` in the filter's order, and where the next
/// page starts: what every listing by cursor shares.
pub(super) fn page_after(
    conn: &Connection,
    filter: &Filter,
    from: &str,
    after: Option<After>,
    per_page: u64,
) -> Result<(Vec<Stored>, Option<After>), StoreError> {
    let (mut clause, mut values) = filter.where_clause("m.");
    let (past, order) = if filter.ascending {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    if let Some(after) = after {
        values.push(after.time.into());
        let t = values.len();
        values.push(after.rowid.into());
        let r = values.len();
        clause =
            format!("{clause} AND (m.time {past} ?{t} OR (m.time = ?{t} AND m.rowid {past} ?{r}))");
    }
    // One more than asked tells whether a next page exists.
    let sql = format!(
        "SELECT m.rowid, m.time FROM {from} WHERE {clause} ORDER BY m.time {order}, m.rowid {order} LIMIT {}",
        per_page.saturating_add(1)
    );
    let mut keys = conn
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(values.iter()), |r| {
            Ok(After {
                rowid: r.get(0)?,
                time: r.get(1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let more = keys.len() as u64 > per_page;
    keys.truncate(per_page as usize);
    let next = if more { keys.last().copied() } else { None };
    if keys.is_empty() {
        return Ok((Vec::new(), None));
    }
    let rowids: Vec<String> = keys.iter().map(|k| k.rowid.to_string()).collect();
    let sql = format!(
        "SELECT {} FROM messages m WHERE m.rowid IN ({}) ORDER BY m.time {order}, m.rowid {order}",
        message_columns("m"),
        rowids.join(",")
    );
    let rows = conn
        .prepare(&sql)?
        .query_map([], row_to_stored)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, next))
}
