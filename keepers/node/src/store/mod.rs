//! The SQLite database: schema, migrations, and the queries the API answers.
//!
//! One writer (see `writer/`) and a few reader connections share the file
//! in WAL mode, so reads never wait for a commit.
//!
//! Layout: this file the errors, opening a connection, the readers and the
//! statement cache; `schema.rs` the migrations; `messages.rs` message rows
//! and the message list; `filter.rs` the list's filters; `documents.rs`
//! aggregates and posts; `files.rs` the files held; `batches.rs` anchored
//! batches.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, Row};

mod accounts;
mod batches;
mod documents;
mod files;
mod filter;
mod messages;
mod schema;

pub use accounts::{aggregate_list, files_of, AddressFile, AggregateQuery, AggregateRow};
pub use batches::{batch_of, unanchored, BatchOf};
pub use documents::{aggregates, posts, posts_after};
pub use files::{find_file, insert_file, unpinned_files, FileRow};
pub use filter::Filter;
pub use messages::{
    get_message, list_messages, list_messages_after, message_columns, row_to_stored, status_at,
    After, Stored,
};

use schema::MIGRATIONS;

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
    /// One per connection: a read waits here, not on a blocking thread.
    /// Without it, every request in flight took a blocking thread (up to
    /// tokio's 512) to wait on one of the few connections, and under a
    /// flood of reads the node's memory grew with the threads.
    permits: Arc<tokio::sync::Semaphore>,
}

impl Readers {
    /// `n` read connections to the database at `path`.
    pub fn open(path: &Path, n: usize) -> Result<Self, StoreError> {
        let conns = (0..n.max(1))
            .map(|_| open(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Readers {
            permits: Arc::new(tokio::sync::Semaphore::new(conns.len())),
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
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the readers' semaphore is never closed");
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // A permit means a connection is free; take the first one that is.
            let start = this.next.fetch_add(1, Ordering::Relaxed);
            let n = this.conns.len();
            let conn = (0..n)
                .find_map(|k| this.conns[(start + k) % n].try_lock().ok())
                .unwrap_or_else(|| {
                    this.conns[start % n]
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                });
            f(&conn)
        })
        .await
        .expect("a read task does not panic")
    }
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
