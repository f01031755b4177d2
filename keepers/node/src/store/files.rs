//! The files the node holds: finding one by any of its hashes, recording
//! one, and those no message pins.

use rusqlite::{params, Connection, OptionalExtension};

use super::{Cached, StoreError};

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
