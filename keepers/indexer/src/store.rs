//! The SQLite file: every event as it was emitted, the tables derived from
//! them, and one cursor per program. A transaction's events, their effects
//! and the cursor move in one SQLite transaction, and events are keyed by
//! (signature, index), so a restart neither skips nor repeats anything.

use std::path::Path;

use aether_sdk::events::Event;
use rusqlite::{params, Connection, OptionalExtension};

mod effects;

/// Why the database failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite itself.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file, or its schema.
    #[error(transparent)]
    Db(#[from] aether_keeper::DbError),
}

/// Schema migrations, applied in order; `user_version` counts those done.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE events (
    slot INTEGER NOT NULL,
    signature TEXT NOT NULL,
    idx INTEGER NOT NULL,
    block_time INTEGER,
    program TEXT NOT NULL,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (signature, idx)
) WITHOUT ROWID;
CREATE INDEX events_by_slot ON events (slot, signature, idx);
CREATE INDEX events_by_name ON events (name, slot);
CREATE TABLE cursors (
    program TEXT PRIMARY KEY,
    signature TEXT NOT NULL,
    slot INTEGER NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE staking_nodes (
    node TEXT PRIMARY KEY,
    operator TEXT NOT NULL,
    total_stake INTEGER NOT NULL,
    status TEXT NOT NULL,
    activation_epoch INTEGER NOT NULL
);
CREATE TABLE nodes (
    record TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    identity TEXT NOT NULL,
    parent TEXT,
    staking_node TEXT,
    endpoint TEXT NOT NULL,
    p2p_address TEXT NOT NULL,
    vcpus INTEGER NOT NULL,
    memory_mib INTEGER NOT NULL,
    disk_gib INTEGER NOT NULL,
    min_price_compute_per_second INTEGER NOT NULL,
    min_price_storage_per_gb_month INTEGER NOT NULL,
    score INTEGER NOT NULL DEFAULT 0,
    score_epoch INTEGER,
    registered_slot INTEGER NOT NULL
);
CREATE TABLE score_reports (
    record TEXT NOT NULL,
    reporter TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    score INTEGER NOT NULL,
    PRIMARY KEY (record, epoch, reporter)
);
CREATE TABLE streams (
    stream TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    resource TEXT NOT NULL,
    kind TEXT NOT NULL,
    max_rate_per_second INTEGER NOT NULL,
    replicas INTEGER NOT NULL,
    deposited INTEGER NOT NULL,
    paid_out INTEGER NOT NULL DEFAULT 0,
    last_settled INTEGER NOT NULL,
    opened_at INTEGER NOT NULL,
    exhausted INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0,
    refund INTEGER
);
CREATE INDEX streams_by_resource ON streams (resource);
CREATE TABLE stream_providers (
    stream TEXT NOT NULL,
    position INTEGER NOT NULL,
    provider TEXT NOT NULL,
    paid INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (stream, position)
);
CREATE TABLE batches (
    seq INTEGER PRIMARY KEY,
    root TEXT NOT NULL,
    count INTEGER NOT NULL,
    content_id TEXT NOT NULL,
    submitter TEXT NOT NULL,
    signature TEXT NOT NULL,
    slot INTEGER NOT NULL
);
"#,
    r#"
CREATE TABLE domains (
    binding TEXT PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,
    target TEXT NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    approvals INTEGER NOT NULL DEFAULT 0,
    rejections INTEGER NOT NULL DEFAULT 0,
    requested_slot INTEGER NOT NULL
);
"#,
];

/// Opens (creating and migrating) the database at `path`.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    Ok(aether_keeper::open_db(path, MIGRATIONS)?)
}

/// Where a program's scan stopped: the newest signature done and its slot.
pub fn cursor(conn: &Connection, program: &str) -> Result<Option<(String, u64)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT signature, slot FROM cursors WHERE program = ?1",
            [program],
            |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
        )
        .optional()?)
}

/// A value of the `meta` table.
pub fn meta(conn: &Connection, key: &str) -> Result<Option<u64>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| {
            r.get::<_, i64>(0)
        })
        .optional()?
        .map(|v| v as u64))
}

/// Sets a value of the `meta` table.
pub fn set_meta(conn: &Connection, key: &str, value: u64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value as i64],
    )?;
    Ok(())
}

/// One confirmed transaction of a program, with the events that program
/// emitted in it, each with its index among all the transaction's events.
pub struct Scanned {
    /// Base58 signature.
    pub signature: String,
    /// Slot it landed in.
    pub slot: u64,
    /// Block time, when the cluster has one.
    pub block_time: Option<i64>,
    /// (index in the transaction, event).
    pub events: Vec<(usize, Event)>,
}

/// Records `txs` of `program` (oldest first) and moves its cursor to the
/// last one, all in one SQLite transaction. Returns the events newly
/// recorded; events already there are skipped with their effects.
pub fn record(conn: &mut Connection, program: &str, txs: &[Scanned]) -> Result<u64, StoreError> {
    let Some(last) = txs.last() else {
        return Ok(0);
    };
    let tx = conn.transaction()?;
    let mut added = 0;
    for scanned in txs {
        for (idx, event) in &scanned.events {
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO events (slot, signature, idx, block_time, program, name, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    scanned.slot as i64,
                    scanned.signature,
                    *idx as i64,
                    scanned.block_time,
                    program,
                    event.name(),
                    event.to_json().to_string()
                ],
            )?;
            if inserted == 1 {
                effects::apply(&tx, scanned, event)?;
                added += 1;
            }
        }
    }
    tx.execute(
        "INSERT INTO cursors (program, signature, slot) VALUES (?1, ?2, ?3)
         ON CONFLICT (program) DO UPDATE SET signature = excluded.signature, slot = excluded.slot",
        params![program, last.signature, last.slot as i64],
    )?;
    tx.commit()?;
    Ok(added)
}

/// Amounts are u64 on chain; SQLite integers are i64. Amounts past
/// i64::MAX are stored wrapped and read back as u64 by [`amount`].
fn sql_amount(v: u64) -> i64 {
    v as i64
}

/// Reads back an amount stored by [`sql_amount`].
pub fn amount(v: i64) -> u64 {
    v as u64
}
