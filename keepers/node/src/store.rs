//! The SQLite database: schema, migrations, and the queries the API answers.
//!
//! One writer (see `writer.rs`) and a few reader connections share the file
//! in WAL mode, so reads never wait for a commit.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aether_sdk::message::Message;
use aether_sdk::node_client::MessageStatus;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

/// Schema migrations, applied in order; `PRAGMA user_version` counts them.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE messages (
    item_hash      TEXT PRIMARY KEY,
    chain          TEXT NOT NULL,
    sender         TEXT NOT NULL,
    type           TEXT NOT NULL,
    channel        TEXT,
    signature      TEXT,
    time           REAL NOT NULL,
    item_type      TEXT NOT NULL,
    item_content   TEXT,
    content        TEXT,
    address        TEXT,
    content_type   TEXT,
    content_key    TEXT,
    ref            TEXT,
    size           INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL,
    reason         TEXT,
    error_code     INTEGER,
    forgotten_by   TEXT,
    reception_time REAL NOT NULL
);
CREATE INDEX messages_status_time ON messages (status, time);
CREATE INDEX messages_sender ON messages (sender, time);
CREATE INDEX messages_channel ON messages (channel, time);
CREATE INDEX messages_type ON messages (type, time);
CREATE INDEX messages_ref ON messages (ref);
CREATE INDEX messages_address ON messages (address);

CREATE TABLE aggregate_elements (
    item_hash TEXT PRIMARY KEY,
    address   TEXT NOT NULL,
    key       TEXT NOT NULL,
    time      REAL NOT NULL,
    content   TEXT NOT NULL
);
CREATE INDEX aggregate_elements_key ON aggregate_elements (address, key, time);

CREATE TABLE aggregates (
    address      TEXT NOT NULL,
    key          TEXT NOT NULL,
    content      TEXT NOT NULL,
    created      REAL NOT NULL,
    last_updated REAL NOT NULL,
    PRIMARY KEY (address, key)
);

CREATE TABLE posts (
    item_hash TEXT PRIMARY KEY,
    address   TEXT NOT NULL,
    post_type TEXT NOT NULL,
    ref       TEXT,
    time      REAL NOT NULL,
    is_amend  INTEGER NOT NULL
);
CREATE INDEX posts_ref ON posts (ref, time);

CREATE TABLE files (
    sha256  TEXT PRIMARY KEY,
    cid_v0  TEXT NOT NULL,
    cid_v1  TEXT NOT NULL,
    size    INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX files_cid_v0 ON files (cid_v0);
CREATE INDEX files_cid_v1 ON files (cid_v1);

CREATE TABLE file_pins (
    file      TEXT NOT NULL,
    item_hash TEXT NOT NULL,
    PRIMARY KEY (file, item_hash)
);
CREATE INDEX file_pins_message ON file_pins (item_hash);
"#,
    r#"
ALTER TABLE messages ADD COLUMN anchor_seq INTEGER;
CREATE INDEX messages_unanchored ON messages (status, anchor_seq);
CREATE TABLE batches (
    seq       INTEGER PRIMARY KEY,
    root      TEXT NOT NULL,
    count     INTEGER NOT NULL,
    file      TEXT NOT NULL,
    cid       TEXT NOT NULL,
    signature TEXT NOT NULL,
    created   REAL NOT NULL
);
CREATE TABLE batch_items (
    seq       INTEGER NOT NULL,
    idx       INTEGER NOT NULL,
    item_hash TEXT NOT NULL,
    PRIMARY KEY (seq, idx)
);
CREATE INDEX batch_items_hash ON batch_items (item_hash);
"#,
    // A sender's messages in time order carry their status and channel, so
    // that listing and counting them by sender, status and channel reads
    // the index alone, never the rows it skips.
    r#"
DROP INDEX messages_sender;
CREATE INDEX messages_sender ON messages (sender, time, status, channel);
"#,
    // Paying by holding: when content marked `removing` is collected.
    r#"
ALTER TABLE messages ADD COLUMN collect_at REAL;
"#,
    // Each submitter has its own log of roots: a proof names who anchored.
    r#"
ALTER TABLE batches ADD COLUMN submitter TEXT;
"#,
    // Every claim on an item hash that waits for its content, as sent: a
    // stranger's claim on someone's hash never stands in for theirs.
    r#"
CREATE TABLE pending_claims (
    item_hash      TEXT NOT NULL,
    sender         TEXT NOT NULL,
    signature      TEXT NOT NULL,
    message        TEXT NOT NULL,
    reception_time REAL NOT NULL,
    PRIMARY KEY (item_hash, sender, signature)
);
"#,
];

/// Errors of the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database is from a newer version of the node.
    #[error("the database has schema version {found}; this node knows up to {known}")]
    TooNew {
        /// Version found.
        found: usize,
        /// Newest version known here.
        known: usize,
    },
    /// A message could not be encoded to be kept.
    #[error("encoding a message: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Opens (creating if needed) the database at `path`, in WAL mode, migrated.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit survives power loss, not just a killed process.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // A larger page cache than the default 2 MiB (32 MiB per connection):
    // fewer reads through the kernel on large tables.
    conn.pragma_update(None, "cache_size", -32_768i64)?;
    conn.set_prepared_statement_cache_capacity(64);
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            found: version,
            known: MIGRATIONS.len(),
        });
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(conn)
}

/// A few read connections, used in turn.
#[derive(Clone)]
pub struct Readers {
    conns: Arc<Vec<Mutex<Connection>>>,
    next: Arc<AtomicUsize>,
}

impl Readers {
    /// `n` read connections to the database at `path`.
    pub fn open(path: &Path, n: usize) -> Result<Self, StoreError> {
        let conns = (0..n.max(1))
            .map(|_| open(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Readers {
            conns: Arc::new(conns),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Runs `f` on a read connection, off the async workers.
    pub async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let i = this.next.fetch_add(1, Ordering::Relaxed) % this.conns.len();
            let conn = this.conns[i].lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .expect("a read task does not panic")
    }
}

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

/// `execute` and `query_row` through the connection's statement cache: the
/// writer runs the same few statements thousands of times a second, and
/// parsing them anew was a tenth of its time.
pub(crate) trait Cached {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn row<T, P: rusqlite::Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T, P: rusqlite::Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }
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

/// Filters of the message list, as the API names them.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Senders.
    pub addresses: Vec<String>,
    /// Channels.
    pub channels: Vec<String>,
    /// Message types.
    pub types: Vec<String>,
    /// Item hashes.
    pub hashes: Vec<String>,
    /// Content refs.
    pub refs: Vec<String>,
    /// POST types.
    pub content_types: Vec<String>,
    /// AGGREGATE keys.
    pub content_keys: Vec<String>,
    /// Sender chains.
    pub chains: Vec<String>,
    /// Statuses (default: processed).
    pub statuses: Vec<String>,
    /// From this time.
    pub start: Option<f64>,
    /// Until this time.
    pub end: Option<f64>,
    /// Oldest first.
    pub ascending: bool,
}

impl Filter {
    /// The WHERE clause and its values; `table` prefixes the columns
    /// (`""`, or `"m."` in a join).
    fn where_clause(&self, table: &str) -> (String, Vec<rusqlite::types::Value>) {
        let mut clauses = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        let statuses = if self.statuses.is_empty() {
            vec![MessageStatus::Processed.as_str().to_string()]
        } else {
            self.statuses.clone()
        };
        // One filter drives the query through its index, the most selective
        // kind present; the others are written `+column`, which SQLite does
        // not index, so it never scans a large index (status, channel)
        // where a small one (a sender) is at hand.
        let driver = [
            ("item_hash", &self.hashes),
            ("ref", &self.refs),
            ("sender", &self.addresses),
            ("content_key", &self.content_keys),
            ("content_type", &self.content_types),
            ("channel", &self.channels),
            ("type", &self.types),
        ]
        .iter()
        .find(|(_, list)| !list.is_empty())
        .map(|(column, _)| *column)
        .unwrap_or("status");
        for (column, list) in [
            ("status", &statuses),
            ("sender", &self.addresses),
            ("channel", &self.channels),
            ("type", &self.types),
            ("item_hash", &self.hashes),
            ("ref", &self.refs),
            ("content_type", &self.content_types),
            ("content_key", &self.content_keys),
            ("chain", &self.chains),
        ] {
            let column = if column == driver {
                format!("{table}{column}")
            } else {
                format!("+{table}{column}")
            };
            if list.is_empty() {
                continue;
            }
            let marks: Vec<String> = list
                .iter()
                .map(|v| {
                    values.push(v.clone().into());
                    format!("?{}", values.len())
                })
                .collect();
            clauses.push(format!("{column} IN ({})", marks.join(",")));
        }
        if let Some(start) = self.start {
            values.push(start.into());
            clauses.push(format!("{table}time >= ?{}", values.len()));
        }
        if let Some(end) = self.end {
            values.push(end.into());
            clauses.push(format!("{table}time <= ?{}", values.len()));
        }
        (clauses.join(" AND "), values)
    }

    /// Whether `message` (processed now) passes the filter.
    pub fn matches(&self, message: &Message, content: &Value) -> bool {
        let any = |list: &[String], value: Option<&str>| {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x == v))
        };
        any(&self.addresses, Some(&message.sender))
            && any(&self.channels, message.channel.as_deref())
            && any(&self.types, Some(message.message_type.as_str()))
            && any(&self.hashes, Some(&message.item_hash))
            && any(&self.refs, content.get("ref").and_then(Value::as_str))
            && any(
                &self.content_types,
                content.get("type").and_then(Value::as_str),
            )
            && any(
                &self.content_keys,
                content.get("key").and_then(Value::as_str),
            )
            && any(&self.chains, Some(message.chain.as_str()))
            && self.start.is_none_or(|s| message.time >= s)
            && self.end.is_none_or(|e| message.time <= e)
    }
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

/// One page of posts (originals, with their latest amendment applied).
pub fn posts(
    conn: &Connection,
    filter: &Filter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<Value>, u64), StoreError> {
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
        out.push(json!({
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
        }));
    }
    Ok((out, total))
}

/// A file the node holds.
#[derive(Clone, Debug)]
pub struct FileRow {
    /// sha256 hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The file known under `hash` (sha256 hex, CIDv0 or CIDv1).
pub fn find_file(conn: &Connection, hash: &str) -> Result<Option<FileRow>, StoreError> {
    Ok(conn
        .row(
            "SELECT sha256, size FROM files WHERE sha256 = ?1 OR cid_v0 = ?1 OR cid_v1 = ?1",
            [hash],
            |r| {
                Ok(FileRow {
                    sha256: r.get(0)?,
                    size: r.get::<_, i64>(1)? as u64,
                })
            },
        )
        .optional()?)
}

/// Records a file now on disk.
pub fn insert_file(
    conn: &Connection,
    sha256: &str,
    cid_v0: &str,
    cid_v1: &str,
    size: u64,
    now: f64,
) -> Result<(), StoreError> {
    conn.exec(
        "INSERT OR IGNORE INTO files (sha256, cid_v0, cid_v1, size, created) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![sha256, cid_v0, cid_v1, size as i64, now],
    )?;
    Ok(())
}

/// Files no message pins, created before `before`.
pub fn unpinned_files(conn: &Connection, before: f64) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT sha256 FROM files f WHERE created < ?1 \
         AND NOT EXISTS (SELECT 1 FROM file_pins p WHERE p.file = f.sha256)",
    )?;
    let rows = stmt
        .query_map([before], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(rows)
}

/// Processed messages no batch holds yet, oldest first: (item hash, envelope).
pub fn unanchored(conn: &Connection, limit: usize) -> Result<Vec<(String, Value)>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM messages WHERE status = 'processed' AND anchor_seq IS NULL \
         ORDER BY rowid LIMIT ?1",
        message_columns("messages")
    ))?;
    let rows = stmt
        .query_map([limit as i64], row_to_stored)?
        .map(|r| {
            r.map(|s| {
                let mut envelope = s.record;
                if let Some(o) = envelope.as_object_mut() {
                    for node_field in ["content", "size", "confirmations", "confirmed"] {
                        o.remove(node_field);
                    }
                }
                (
                    envelope["item_hash"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    envelope,
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Where a message sits in an anchored batch.
pub struct BatchOf {
    /// The key that anchored the batch, base58 (empty for a batch recorded
    /// before submitters were).
    pub submitter: String,
    /// The batch's seq.
    pub seq: u64,
    /// The message's index in it.
    pub index: u32,
    /// Every item hash of the batch, in order.
    pub hashes: Vec<String>,
}

/// The batch holding `item_hash` (the latest, if several).
pub fn batch_of(conn: &Connection, item_hash: &str) -> Result<Option<BatchOf>, StoreError> {
    let found: Option<(i64, i64, Option<String>)> = conn
        .row(
            "SELECT i.seq, i.idx, b.submitter FROM batch_items i JOIN batches b ON b.seq = i.seq \
             WHERE i.item_hash = ?1 ORDER BY i.seq DESC LIMIT 1",
            [item_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((seq, idx, submitter)) = found else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare_cached("SELECT item_hash FROM batch_items WHERE seq = ?1 ORDER BY idx")?;
    let hashes = stmt
        .query_map([seq], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(BatchOf {
        submitter: submitter.unwrap_or_default(),
        seq: seq as u64,
        index: idx as u32,
        hashes,
    }))
}
