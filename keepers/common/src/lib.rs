//! What Aether's keeper daemons share, so that each one's crate holds only
//! its own work:
//!
//! - [`Daemon`]: the HTTP API served until asked to stop, and the tasks
//!   stopped with it;
//! - [`rounds`]: the loop that runs a unit of work every interval, in a
//!   `tracing` span, counting rounds and failures;
//! - [`metrics_text`]: Prometheus text for `/metrics`;
//! - [`open_db`]: a SQLite file in WAL mode with its schema migrations;
//! - [`blocking`]: blocking work off the async threads.

use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tracing::Instrument;

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite itself.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file's schema is newer than this build.
    #[error("the database has schema version {0}, newer than this program knows ({1})")]
    TooNew(i64, usize),
}

/// Opens (creating) the SQLite file at `path` in WAL mode and applies the
/// `migrations` not yet applied (`user_version` counts those done), each
/// in its own transaction.
pub fn open_db(path: &Path, migrations: &[&str]) -> Result<rusqlite::Connection, DbError> {
    let mut conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version < 0 || version as usize > migrations.len() {
        return Err(DbError::TooNew(version, migrations.len()));
    }
    for (i, sql) in migrations.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(conn)
}

/// Blocking work (a program client call, SQLite) that ended abnormally.
#[derive(Debug, thiserror::Error)]
#[error("a worker task failed: {0}")]
pub struct TaskFailed(pub String);

/// Runs blocking `work` on tokio's blocking threads; a task that panics
/// or is cancelled becomes the caller's error through [`TaskFailed`].
pub async fn blocking<T, E>(work: impl FnOnce() -> Result<T, E> + Send + 'static) -> Result<T, E>
where
    T: Send + 'static,
    E: From<TaskFailed> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| E::from(TaskFailed(e.to_string())))?
}

/// One line of `/metrics`: name, `counter` or `gauge`, value.
pub type Metric<'a> = (&'a str, &'a str, &'a AtomicU64);

/// Prometheus text of `metrics`.
pub fn metrics_text(metrics: &[Metric<'_>]) -> String {
    let mut out = String::new();
    for (name, kind, value) in metrics {
        out.push_str(&format!(
            "# TYPE {name} {kind}\n{name} {}\n",
            value.load(Ordering::Relaxed)
        ));
    }
    out
}

/// A keeper's HTTP API and its background tasks, stopped together.
pub struct Daemon {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Daemon {
    /// Binds `addr` (port 0 picks one) and serves `router` on it until
    /// [`Daemon::stop`].
    pub async fn serve(addr: SocketAddr, router: axum::Router) -> std::io::Result<Daemon> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "the API stopped");
            }
        });
        Ok(Daemon {
            addr,
            stop,
            tasks: vec![server],
        })
    }

    /// Where the API listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Turns true when the daemon is asked to stop.
    pub fn stopped(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Runs `task` until the daemon stops (the task watches [`Daemon::stopped`]).
    pub fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push(tokio::spawn(task));
    }

    /// Asks every task to stop and waits for them: a unit of work in
    /// progress finishes first.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Runs `round` now and then every `interval` until `stopped`, each in a
/// `tracing` span, counting rounds in `done` and failures in `failed`; a
/// failed round is logged and retried at the next one.
pub async fn rounds<F, Fut, T, E>(
    name: &'static str,
    interval: Duration,
    (done, failed): (&AtomicU64, &AtomicU64),
    mut stopped: watch::Receiver<bool>,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Display,
{
    loop {
        let result = round()
            .instrument(tracing::info_span!("round", keeper = name))
            .await;
        done.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = result {
            failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(keeper = name, error = %e, "round failed; retrying");
        }
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_newer_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.sqlite");
        let v1 = ["CREATE TABLE a (x INTEGER);"];
        open_db(&path, &v1).unwrap();
        // Opening again applies nothing twice.
        let conn = open_db(&path, &v1).unwrap();
        conn.execute("INSERT INTO a VALUES (1)", []).unwrap();
        drop(conn);
        let v2 = ["CREATE TABLE a (x INTEGER);", "CREATE TABLE b (y INTEGER);"];
        let conn = open_db(&path, &v2).unwrap();
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM a", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1, "data kept across the migration");
        drop(conn);
        assert!(matches!(open_db(&path, &v1), Err(DbError::TooNew(2, 1))));
    }

    #[test]
    fn metrics_are_prometheus_text() {
        let (a, b) = (AtomicU64::new(3), AtomicU64::new(7));
        assert_eq!(
            metrics_text(&[("x_total", "counter", &a), ("y", "gauge", &b)]),
            "# TYPE x_total counter\nx_total 3\n# TYPE y gauge\ny 7\n"
        );
    }
}
