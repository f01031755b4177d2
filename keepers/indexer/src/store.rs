//! The SQLite file: every event as it was emitted, the tables derived from
//! them, and one cursor per program. A transaction's events, their effects
//! and the cursor move in one SQLite transaction, and events are keyed by
//! (signature, index), so a restart neither skips nor repeats anything.

use std::path::Path;

use aether_sdk::events::Event;
use rusqlite::{params, Connection, OptionalExtension};

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
                apply(&tx, scanned, event)?;
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

/// The effect of one event on the derived tables.
fn apply(tx: &rusqlite::Transaction<'_>, at: &Scanned, event: &Event) -> rusqlite::Result<()> {
    match event {
        Event::NodeCreated(e) => {
            tx.execute(
                "INSERT OR REPLACE INTO staking_nodes (node, operator, total_stake, status, activation_epoch)
                 VALUES (?1, ?2, ?3, 'Inactive', 0)",
                params![e.node.to_string(), e.operator.to_string(), sql_amount(e.stake)],
            )?;
        }
        Event::NodeStatusChanged(e) => {
            tx.execute(
                "UPDATE staking_nodes SET status = ?2, activation_epoch = ?3, total_stake = ?4 WHERE node = ?1",
                params![
                    e.node.to_string(),
                    format!("{:?}", e.status),
                    e.activation_epoch as i64,
                    sql_amount(e.total_stake)
                ],
            )?;
        }
        Event::Staked(e) => {
            tx.execute(
                "UPDATE staking_nodes SET total_stake = ?2 WHERE node = ?1",
                params![e.node.to_string(), sql_amount(e.node_total_stake)],
            )?;
        }
        Event::UnstakeRequested(e) => {
            tx.execute(
                "UPDATE staking_nodes SET total_stake = ?2 WHERE node = ?1",
                params![e.node.to_string(), sql_amount(e.node_total_stake)],
            )?;
        }
        Event::NodeClosed(e) => {
            tx.execute(
                "UPDATE staking_nodes SET status = 'Closed', total_stake = ?2 WHERE node = ?1",
                params![e.node.to_string(), sql_amount(e.total_stake)],
            )?;
        }
        Event::EpochCranked(e) => {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('epoch', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [e.epoch as i64 + 1],
            )?;
        }
        Event::CoreNodeRegistered(e) => {
            tx.execute(
                "INSERT OR REPLACE INTO nodes (record, kind, owner, identity, parent, staking_node,
                     endpoint, p2p_address, vcpus, memory_mib, disk_gib,
                     min_price_compute_per_second, min_price_storage_per_gb_month, registered_slot)
                 VALUES (?1, 'Core', ?2, ?3, NULL, ?3, ?4, ?5, 0, 0, 0, 0, 0, ?6)",
                params![
                    e.record.to_string(),
                    e.operator.to_string(),
                    e.staking_node.to_string(),
                    e.endpoint,
                    e.p2p_address,
                    at.slot as i64
                ],
            )?;
        }
        Event::ResourceNodeRegistered(e) => {
            tx.execute(
                "INSERT OR REPLACE INTO nodes (record, kind, owner, identity, parent, staking_node,
                     endpoint, p2p_address, vcpus, memory_mib, disk_gib,
                     min_price_compute_per_second, min_price_storage_per_gb_month, registered_slot)
                 VALUES (?1, 'Resource', ?2, ?3, ?4, NULL, ?5, '', ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    e.record.to_string(),
                    e.owner.to_string(),
                    e.node_id.to_string(),
                    e.parent.to_string(),
                    e.endpoint,
                    e.capacity.vcpus,
                    e.capacity.memory_mib,
                    e.capacity.disk_gib,
                    sql_amount(e.min_price_compute_per_second),
                    sql_amount(e.min_price_storage_per_gb_month),
                    at.slot as i64
                ],
            )?;
        }
        Event::NodeUpdated(e) => {
            tx.execute(
                "UPDATE nodes SET endpoint = ?2, p2p_address = ?3, vcpus = ?4, memory_mib = ?5,
                     disk_gib = ?6, min_price_compute_per_second = ?7,
                     min_price_storage_per_gb_month = ?8
                 WHERE record = ?1",
                params![
                    e.record.to_string(),
                    e.endpoint,
                    e.p2p_address,
                    e.capacity.vcpus,
                    e.capacity.memory_mib,
                    e.capacity.disk_gib,
                    sql_amount(e.min_price_compute_per_second),
                    sql_amount(e.min_price_storage_per_gb_month)
                ],
            )?;
        }
        Event::NodeDeregistered(e) => {
            tx.execute(
                "DELETE FROM nodes WHERE record = ?1",
                [e.record.to_string()],
            )?;
        }
        Event::ScoreReported(e) => {
            tx.execute(
                "INSERT OR REPLACE INTO score_reports (record, reporter, epoch, score) VALUES (?1, ?2, ?3, ?4)",
                params![e.record.to_string(), e.reporter.to_string(), e.epoch as i64, e.score],
            )?;
        }
        Event::ScoreUpdated(e) => {
            tx.execute(
                "UPDATE nodes SET score = ?2, score_epoch = ?3 WHERE record = ?1",
                params![e.record.to_string(), e.score, e.epoch as i64],
            )?;
        }
        Event::StreamOpened(e) => {
            tx.execute(
                "INSERT OR REPLACE INTO streams (stream, owner, resource, kind, max_rate_per_second,
                     replicas, deposited, last_settled, opened_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                params![
                    e.stream.to_string(),
                    e.owner.to_string(),
                    hex::encode(e.resource),
                    format!("{:?}", e.kind),
                    sql_amount(e.max_rate_per_second),
                    e.replicas,
                    sql_amount(e.deposit),
                    e.opened_at
                ],
            )?;
            tx.execute(
                "DELETE FROM stream_providers WHERE stream = ?1",
                [e.stream.to_string()],
            )?;
        }
        Event::StreamToppedUp(e) => {
            tx.execute(
                "UPDATE streams SET deposited = deposited + ?2 WHERE stream = ?1",
                params![e.stream.to_string(), sql_amount(e.amount)],
            )?;
        }
        Event::ProviderJoined(e) => {
            tx.execute(
                "INSERT OR REPLACE INTO stream_providers (stream, position, provider, paid)
                 VALUES (?1, (SELECT COUNT(*) FROM stream_providers WHERE stream = ?1), ?2, 0)",
                params![e.stream.to_string(), e.provider.to_string()],
            )?;
        }
        Event::ProviderLeft(e) => {
            let stream = e.stream.to_string();
            let at: Option<i64> = tx
                .query_row(
                    "SELECT position FROM stream_providers WHERE stream = ?1 AND provider = ?2",
                    params![stream, e.provider.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(at) = at {
                tx.execute(
                    "DELETE FROM stream_providers WHERE stream = ?1 AND position = ?2",
                    params![stream, at],
                )?;
                // The program keeps slot order: later slots move down one.
                // Two steps through negative positions keep the key unique.
                tx.execute(
                    "UPDATE stream_providers SET position = -position WHERE stream = ?1 AND position > ?2",
                    params![stream, at],
                )?;
                tx.execute(
                    "UPDATE stream_providers SET position = -position - 1 WHERE stream = ?1 AND position < 0",
                    [&stream],
                )?;
            }
        }
        Event::StreamSettled(e) => {
            let stream = e.stream.to_string();
            let mut total: u64 = 0;
            for (position, paid) in e.paid.iter().enumerate() {
                total = total.saturating_add(*paid);
                tx.execute(
                    "UPDATE stream_providers SET paid = paid + ?3 WHERE stream = ?1 AND position = ?2",
                    params![stream, position as i64, sql_amount(*paid)],
                )?;
            }
            tx.execute(
                "UPDATE streams SET paid_out = paid_out + ?2, last_settled = ?3 WHERE stream = ?1",
                params![stream, sql_amount(total), e.settled_until],
            )?;
        }
        Event::StreamExhausted(e) => {
            tx.execute(
                "UPDATE streams SET exhausted = 1 WHERE stream = ?1",
                [e.stream.to_string()],
            )?;
        }
        Event::StreamClosed(e) => {
            tx.execute(
                "UPDATE streams SET closed = 1, refund = ?2 WHERE stream = ?1",
                params![e.stream.to_string(), sql_amount(e.refund)],
            )?;
        }
        Event::DomainRequested(e) => {
            tx.execute(
                "INSERT OR REPLACE INTO domains (binding, domain, target, owner, status, requested_slot)
                 VALUES (?1, ?2, ?3, ?4, 'Pending', ?5)",
                params![
                    e.binding.to_string(),
                    e.domain,
                    hex::encode(e.target),
                    e.owner.to_string(),
                    at.slot as i64
                ],
            )?;
        }
        Event::DomainAttested(e) => {
            tx.execute(
                "UPDATE domains SET approvals = ?2, rejections = ?3 WHERE binding = ?1",
                params![e.binding.to_string(), e.approvals, e.rejections],
            )?;
        }
        Event::DomainStatusChanged(e) => {
            tx.execute(
                "UPDATE domains SET status = ?2 WHERE binding = ?1",
                params![e.binding.to_string(), format!("{:?}", e.status)],
            )?;
        }
        Event::BatchAnchored(e) => {
            tx.execute(
                "INSERT OR REPLACE INTO batches (seq, root, count, content_id, submitter, signature, slot)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    e.seq as i64,
                    hex::encode(e.root),
                    e.count,
                    String::from_utf8_lossy(&e.content_id),
                    e.submitter.to_string(),
                    at.signature,
                    at.slot as i64
                ],
            )?;
        }
        _ => {}
    }
    Ok(())
}
