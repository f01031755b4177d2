//! Probes and reports, kept so that a restart within an epoch goes on
//! from the probes it already made and never reports twice.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE probes (
    record TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    at INTEGER NOT NULL,
    score INTEGER NOT NULL,
    reachable INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    capacity_bps INTEGER NOT NULL,
    reference INTEGER
);
CREATE INDEX probes_by_node ON probes (record, epoch);
CREATE TABLE reports (
    record TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    score INTEGER NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (record, epoch)
);
"#];

/// Opens (creating and migrating) the database at `path`.
pub fn open(path: &Path) -> Result<Connection, aether_keeper::DbError> {
    aether_keeper::open_db(path, MIGRATIONS)
}

/// Records one probe and its score.
pub fn add_probe(
    conn: &Connection,
    record: &str,
    epoch: u64,
    at: i64,
    score: u16,
    probe: &crate::score::Probe,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO probes (record, epoch, at, score, reachable, latency_ms, capacity_bps, reference)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            record,
            epoch as i64,
            at,
            score,
            probe.reachable,
            probe.latency_ms as i64,
            probe.capacity_bps,
            probe.reference
        ],
    )?;
    Ok(())
}

/// The scores of a node's probes in an epoch.
pub fn scores(conn: &Connection, record: &str, epoch: u64) -> rusqlite::Result<Vec<u16>> {
    let mut stmt =
        conn.prepare_cached("SELECT score FROM probes WHERE record = ?1 AND epoch = ?2")?;
    let rows = stmt.query_map(params![record, epoch as i64], |r| r.get(0))?;
    rows.collect()
}

/// The score reported for a node in an epoch, if any.
pub fn reported(conn: &Connection, record: &str, epoch: u64) -> rusqlite::Result<Option<u16>> {
    conn.query_row(
        "SELECT score FROM reports WHERE record = ?1 AND epoch = ?2",
        params![record, epoch as i64],
        |r| r.get(0),
    )
    .optional()
}

/// Records a report sent.
pub fn add_report(
    conn: &Connection,
    record: &str,
    epoch: u64,
    score: u16,
    signature: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO reports (record, epoch, score, signature) VALUES (?1, ?2, ?3, ?4)",
        params![record, epoch as i64, score, signature],
    )?;
    Ok(())
}

/// One node's standing in an epoch, for `/scores`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Standing {
    /// The node's registry record.
    pub record: String,
    /// Probes made.
    pub probes: u32,
    /// The score so far (mean of the probes).
    pub score: u16,
    /// The score reported on chain, if it was.
    pub reported: Option<u16>,
}

/// Every node probed in `epoch`.
pub fn standings(conn: &Connection, epoch: u64) -> rusqlite::Result<Vec<Standing>> {
    let mut stmt = conn.prepare(
        "SELECT p.record, COUNT(*), SUM(p.score), r.score FROM probes p
         LEFT JOIN reports r ON r.record = p.record AND r.epoch = p.epoch
         WHERE p.epoch = ?1 GROUP BY p.record ORDER BY p.record",
    )?;
    let rows = stmt.query_map([epoch as i64], |r| {
        let probes: u32 = r.get(1)?;
        let sum: i64 = r.get(2)?;
        Ok(Standing {
            record: r.get(0)?,
            probes,
            score: (sum / i64::from(probes.max(1))) as u16,
            reported: r.get(3)?,
        })
    })?;
    rows.collect()
}
