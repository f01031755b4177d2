//! A keeper's running shape: its API and `/metrics` served by a [`Daemon`],
//! its rounds beside them, and the handle each keeper's own type wraps.

use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;

use crate::{metrics_text, rounds, Daemon, Metric};

/// A keeper's counters: what its `/metrics` shows, and where [`rounds`]
/// counts its rounds.
pub trait Counters: Send + Sync + 'static {
    /// The `/metrics` lines, in the order shown.
    fn lines(&self) -> Vec<Metric<'_>>;

    /// Rounds done and rounds that failed.
    fn round_counts(&self) -> (&AtomicU64, &AtomicU64);
}

/// A running keeper: its [`Daemon`] and its counters. Each keeper's own
/// type (the checker's, the settler's…) wraps one.
pub struct Keeper<M> {
    daemon: Daemon,
    metrics: Arc<M>,
}

impl<M> Keeper<M> {
    /// A keeper of `daemon`, already serving its API, counting in `metrics`.
    pub fn new(daemon: Daemon, metrics: Arc<M>) -> Keeper<M> {
        Keeper { daemon, metrics }
    }

    /// Where the API listens.
    pub fn addr(&self) -> SocketAddr {
        self.daemon.addr()
    }

    /// The API's base URL.
    pub fn url(&self) -> String {
        self.daemon.url()
    }

    /// Its counters.
    pub fn metrics(&self) -> &M {
        &self.metrics
    }

    /// Stops its tasks and its API (see [`Daemon::stop`]).
    pub async fn stop(self) {
        self.daemon.stop().await;
    }
}

impl<M: Counters> Keeper<M> {
    /// Binds `addr` (port 0 picks one) and serves `api` on it, with
    /// `/metrics` showing [`Counters::lines`] of `metrics`, until
    /// [`Keeper::stop`].
    pub async fn serve(
        addr: SocketAddr,
        api: axum::Router,
        metrics: Arc<M>,
    ) -> std::io::Result<Keeper<M>> {
        let shown = metrics.clone();
        let router = api.route(
            "/metrics",
            get(move || {
                let text = metrics_text(&shown.lines());
                async move { text }
            }),
        );
        let daemon = Daemon::serve(addr, router).await?;
        Ok(Keeper { daemon, metrics })
    }

    /// Runs `round` on `worker` now and then every `interval` until the
    /// keeper stops, counting in [`Counters::round_counts`] (see
    /// [`rounds`]); `name` names the keeper in the rounds' logs.
    pub fn spawn_rounds<W, F, Fut, T, E>(
        &mut self,
        name: &'static str,
        interval: Duration,
        worker: W,
        round: F,
    ) where
        W: Send + Sync + 'static,
        F: Fn(Arc<W>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Display + Send + 'static,
    {
        let worker = Arc::new(worker);
        let metrics = self.metrics.clone();
        let stopped = self.daemon.stopped();
        self.daemon.spawn(async move {
            rounds(name, interval, metrics.round_counts(), stopped, move || {
                round(worker.clone())
            })
            .await
        });
    }
}

/// Runs `read` on `db` on a blocking thread, for an API handler: its error,
/// or the task's, answers 500 with its text.
pub async fn db_read<T, E>(
    db: &Arc<Mutex<rusqlite::Connection>>,
    read: impl FnOnce(&rusqlite::Connection) -> Result<T, E> + Send + 'static,
) -> Result<T, (StatusCode, String)>
where
    T: Send + 'static,
    E: Display + Send + 'static,
{
    let db = db.clone();
    tokio::task::spawn_blocking(move || read(&db.lock().unwrap()))
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}
