//! What Aether's keeper daemons share, so that each one's crate holds only
//! its own work:
//!
//! - [`Daemon`]: the HTTP API served until asked to stop, and the tasks
//!   stopped with it;
//! - [`Keeper`]: a keeper's daemon with `/metrics` from its [`Counters`],
//!   its rounds, and the handle each keeper's type wraps; [`db_read`] for
//!   its API's reads;
//! - [`rounds`]: the loop that runs a unit of work every interval, in a
//!   `tracing` span, counting rounds and failures;
//! - [`metrics_text`]: Prometheus text for `/metrics`;
//! - [`open_db`]: a SQLite file in WAL mode with its schema migrations;
//! - [`blocking`]: blocking work off the async threads; [`unix_now`]: the
//!   wall clock in seconds;
//! - [`settings`]: a daemon's `Config` as flags, variables and a TOML file.

use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tracing::Instrument;

mod connections;
mod keeper;
pub mod settings;

pub use connections::ConnectionHeld;
pub use keeper::{db_read, Counters, Keeper};

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite itself.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file's schema is newer than this build.
    #[error("the database has schema version {0}, newer than this program knows ({1})")]
    TooNew(i64, usize),
    /// The file's folder could not be made.
    #[error("creating {0}: {1}")]
    Folder(std::path::PathBuf, std::io::Error),
}

/// Opens (creating, with its folder) the SQLite file at `path` in WAL mode
/// and applies the `migrations` not yet applied (`user_version` counts
/// those done), each in its own transaction.
pub fn open_db(path: &Path, migrations: &[&str]) -> Result<rusqlite::Connection, DbError> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|e| DbError::Folder(folder.to_owned(), e))?;
    }
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

/// Seconds since the Unix epoch (0 for a clock set before it).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
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

/// Limits on the connections a daemon's API accepts, so that no client
/// holds it by opening connections or sending headers slowly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request's headers must arrive within this (slow-header clients
    /// are cut off; bodies have the daemon's own request timeout).
    pub header_timeout: Duration,
    /// Connections open at once from one IP address; more are closed at once.
    pub per_source: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            per_source: 1024,
        }
    }
}

/// How long [`Daemon::stop`] waits for its tasks (a request a client never
/// finishes, a push that keeps retrying) before it cancels them.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// A daemon's HTTP API and its background tasks, stopped together.
pub struct Daemon {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Bound by [`Daemon::bind`], until [`Daemon::serve_on`] serves it.
    listener: Option<tokio::net::TcpListener>,
    limits: ConnectionLimits,
}

impl Daemon {
    /// Binds `addr` (port 0 picks one) and serves `router` on it until
    /// [`Daemon::stop`].
    pub async fn serve(addr: SocketAddr, router: axum::Router) -> std::io::Result<Daemon> {
        let mut daemon = Daemon::bind(addr).await?;
        daemon.serve_on(router);
        Ok(daemon)
    }

    /// Binds `addr` (port 0 picks one) without serving yet: for a daemon
    /// whose router needs [`Daemon::stopped`] or its tasks first.
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Daemon> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, _) = watch::channel(false);
        Ok(Daemon {
            addr,
            stop,
            tasks: Vec::new(),
            listener: Some(listener),
            limits: ConnectionLimits::default(),
        })
    }

    /// Sets the limits the API's connections get (before [`Daemon::serve_on`]).
    pub fn limit_connections(&mut self, limits: ConnectionLimits) {
        self.limits = limits;
    }

    /// Serves `router` on the address [`Daemon::bind`] bound, until
    /// [`Daemon::stop`]; requests in flight then finish. Once only: a second
    /// call has no listener left and does nothing.
    pub fn serve_on(&mut self, router: axum::Router) {
        let Some(listener) = self.listener.take() else {
            tracing::error!("serve_on called twice; the API is already served");
            return;
        };
        let task = connections::serve(listener, router, self.limits, self.stopped());
        self.spawn(task);
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

    /// Tells every task to stop without waiting for them, for a daemon
    /// that has its own to do (stopping VMs) before [`Daemon::stop`].
    pub fn signal_stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Asks every task to stop and waits for them: a unit of work in
    /// progress finishes first, for up to [`STOP_GRACE`] in all; what is
    /// still running then is cancelled, and waited for.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        for mut task in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                tracing::warn!("a task still runs {STOP_GRACE:?} after stop; cancelling it");
                task.abort();
                let _ = task.await;
            }
        }
    }
}

/// A daemon's whole life: starts it, tells `on_ready`, waits for
/// `shutdown` (Ctrl-C, SIGTERM, a test's signal), then `stop`s it and
/// returns. Each daemon's `run(config, on_ready, shutdown)` is this.
pub async fn run<D, E, S>(
    name: &str,
    start: impl Future<Output = Result<D, E>>,
    on_ready: impl FnOnce(&D),
    shutdown: impl Future<Output = ()>,
    stop: impl FnOnce(D) -> S,
) -> Result<(), E>
where
    S: Future<Output = ()>,
{
    let daemon = start.await?;
    on_ready(&daemon);
    shutdown.await;
    tracing::info!("{name} stopping");
    stop(daemon).await;
    Ok(())
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

    #[tokio::test(start_paused = true)]
    async fn stop_waits_for_every_task_and_cancels_one_that_ignores_it() {
        use std::sync::Arc;
        let mut daemon = Daemon::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        daemon.serve_on(axum::Router::new());
        let finished = Arc::new(AtomicU64::new(0));
        let (done, mut stopped) = (finished.clone(), daemon.stopped());
        // Finishes its unit of work (a second) after the stop.
        daemon.spawn(async move {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            done.fetch_add(1, Ordering::Relaxed);
        });
        // Never looks at the stop.
        let dropped = Arc::new(AtomicU64::new(0));
        let guard = DropCount(dropped.clone());
        daemon.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        let started = tokio::time::Instant::now();
        daemon.stop().await;
        assert_eq!(
            finished.load(Ordering::Relaxed),
            1,
            "the unit of work finished"
        );
        assert_eq!(
            dropped.load(Ordering::Relaxed),
            1,
            "the stuck task was cancelled"
        );
        let waited = started.elapsed();
        assert!(waited >= STOP_GRACE && waited < STOP_GRACE + Duration::from_secs(1));
    }

    struct DropCount(std::sync::Arc<AtomicU64>);
    impl Drop for DropCount {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
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
