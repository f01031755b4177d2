//! The writer thread: gathers queued jobs into batches, answers them once
//! committed (feeding the live stream), and the checkpointer beside it.

use std::sync::Arc;

use rusqlite::Connection;
use tokio::sync::{broadcast, mpsc};

use super::batch::{apply_batch, Reply};
use super::{Job, Processed, WriteError};
use crate::files::ContentStore;
use crate::store::StoreError;

/// Copies the WAL back into the database twice a second, off the writer's
/// path. With SQLite's automatic checkpoint, one commit in every few
/// hundred also copied and synced the whole WAL, and every client of that
/// commit waited for it. A passive checkpoint never blocks the writer or
/// the readers; it ends after a last pass once `stop` is dropped.
pub(super) fn checkpointer(
    conn: Connection,
    stop: std::sync::mpsc::Receiver<()>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("aether-node-checkpoint".into())
        .spawn(move || loop {
            let last = matches!(
                stop.recv_timeout(std::time::Duration::from_millis(500)),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
            );
            let span = tracing::debug_span!("checkpoint");
            let _enter = span.enter();
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "checkpoint failed; retrying");
            }
            if last {
                return;
            }
        })
        .expect("a thread starts")
}

pub(super) fn run(
    mut conn: Connection,
    mut jobs: mpsc::Receiver<Job>,
    files: ContentStore,
    max_batch: usize,
    live: broadcast::Sender<Processed>,
) {
    let load = |sha256: &str| std::fs::read(files.path(sha256)).ok();
    // The query planner needs statistics to pick the selective index (a
    // sender rather than a channel); refresh them as the data grows.
    analyze(&conn);
    let mut since_analyze = 0usize;
    while let Some(first) = jobs.blocking_recv() {
        let batch = gather(first, &mut jobs, max_batch);
        since_analyze += batch.len();
        let span = tracing::debug_span!("commit", messages = batch.len());
        let _enter = span.enter();
        let result = apply_batch(&mut conn, batch, &load);
        match result {
            Ok(replies) => deliver(replies, &live),
            Err((replies, e)) => fail(replies, e),
        }
        if since_analyze >= 10_000 {
            analyze(&conn);
            since_analyze = 0;
        }
    }
    tracing::info!("writer stopped");
}

/// `first` and the jobs already queued behind it, up to `max_batch`.
fn gather(first: Job, jobs: &mut mpsc::Receiver<Job>, max_batch: usize) -> Vec<Job> {
    let mut batch = vec![first];
    while batch.len() < max_batch {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

/// Answers every job of a committed batch, and sends what was processed
/// to the live stream when someone listens.
fn deliver(replies: Vec<Reply>, live: &broadcast::Sender<Processed>) {
    for reply in replies {
        match reply {
            Reply::Message(tx, outcome, processed) => {
                if let Some(p) = processed {
                    if live.receiver_count() > 0 {
                        let _ = live.send(with_content(*p));
                    }
                }
                let _ = tx.send(outcome);
            }
            Reply::Done(tx) => {
                let _ = tx.send(Ok(()));
            }
            Reply::Collected(tx, files) => {
                let _ = tx.send(Ok(files));
            }
        }
    }
}

/// Answers every job of a batch that was rolled back with its error.
fn fail(replies: Vec<Reply>, e: StoreError) {
    tracing::error!(error = %e, "a commit failed; its messages were not applied");
    let e = WriteError::Storage(Arc::new(e));
    for reply in replies {
        match reply {
            Reply::Message(tx, ..) => {
                let _ = tx.send(Err(e.clone()));
            }
            Reply::Done(tx) => {
                let _ = tx.send(Err(e.clone()));
            }
            Reply::Collected(tx, _) => {
                let _ = tx.send(Err(e.clone()));
            }
        }
    }
}

/// Refreshes the planner's statistics, sampling (cheap even on large tables).
fn analyze(conn: &Connection) {
    if let Err(e) = conn.execute_batch("PRAGMA analysis_limit = 2000; ANALYZE;") {
        tracing::warn!(error = %e, "ANALYZE failed");
    }
}

/// Fills in the content of an inline message, parsed from what was sent.
fn with_content(mut processed: Processed) -> Processed {
    if processed.content.is_null() {
        if let Some(text) = &processed.message.item_content {
            processed.content = serde_json::from_str(text).unwrap_or_default();
        }
    }
    processed
}
