//! The log of settlements sent: one row per stream settled, with what
//! each provider was paid as the program reported it.

use std::path::Path;

use rusqlite::{params, Connection};
use serde::Serialize;

/// Schema migrations, applied in order; `user_version` counts those done.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE settlements (
    signature TEXT NOT NULL,
    stream TEXT NOT NULL,
    paid TEXT NOT NULL,
    total INTEGER NOT NULL,
    exhausted INTEGER NOT NULL,
    settled_until INTEGER NOT NULL,
    PRIMARY KEY (signature, stream)
);
CREATE INDEX settlements_by_stream ON settlements (stream, settled_until);
"#];

/// One stream settled by one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settlement {
    /// The transaction.
    pub signature: String,
    /// The stream.
    pub stream: String,
    /// Paid to each provider, in slot order, base units.
    pub paid: Vec<u64>,
    /// The sum.
    pub total: u64,
    /// The stream ran dry in this settlement.
    pub exhausted: bool,
    /// The stream's clock time this settles up to.
    pub settled_until: i64,
}

/// Opens (creating and migrating) the log at `path`.
pub fn open(path: &Path) -> Result<Connection, aether_keeper::DbError> {
    aether_keeper::open_db(path, MIGRATIONS)
}

/// Logs `settlements`; a row already there is kept.
pub fn log(conn: &mut Connection, settlements: &[Settlement]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for s in settlements {
        tx.execute(
            "INSERT OR IGNORE INTO settlements (signature, stream, paid, total, exhausted, settled_until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                s.signature,
                s.stream,
                serde_json::to_string(&s.paid).expect("a list of numbers"),
                s.total as i64,
                s.exhausted,
                s.settled_until
            ],
        )?;
    }
    tx.commit()
}

/// The settlements logged, oldest first, optionally of one stream.
pub fn list(conn: &Connection, stream: Option<&str>) -> rusqlite::Result<Vec<Settlement>> {
    let mut stmt = conn.prepare(
        "SELECT signature, stream, paid, total, exhausted, settled_until FROM settlements
         WHERE ?1 IS NULL OR stream = ?1 ORDER BY rowid",
    )?;
    let rows = stmt.query_map([stream], |r| {
        let paid: String = r.get(2)?;
        Ok(Settlement {
            signature: r.get(0)?,
            stream: r.get(1)?,
            paid: serde_json::from_str(&paid).unwrap_or_default(),
            total: r.get::<_, i64>(3)? as u64,
            exhausted: r.get(4)?,
            settled_until: r.get(5)?,
        })
    })?;
    rows.collect()
}
