//! The one writer: applies messages in SQLite transactions of up to
//! `max_batch` messages and answers each only after its transaction
//! commits, so nothing acknowledged is lost and nothing is half-applied.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aether_sdk::message::{Content, Message};
use rusqlite::Connection;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::files::{ContentStore, Written};
use crate::process::{self, Outcome};
use crate::store::{self, Cached, StoreError};

/// Work for the writer.
pub enum Job {
    /// Apply a message (already checked for shape, hash and signature).
    Message {
        /// The message.
        message: Box<Message>,
        /// Its parsed inline content.
        content: Option<Box<Content>>,
        /// The outcome, after commit.
        reply: oneshot::Sender<Result<Outcome, WriteError>>,
    },
    /// Record a batch anchored on chain.
    Anchored {
        /// What was anchored.
        batch: Box<AnchoredBatch>,
        /// Done, after commit.
        reply: oneshot::Sender<Result<(), WriteError>>,
    },
    /// Forget files no message pins, created before `before` (Unix time).
    Collect {
        /// The grace limit.
        before: f64,
        /// The sha256 of each file dropped, after commit.
        reply: oneshot::Sender<Result<Vec<String>, WriteError>>,
    },
    /// Change the status of held content (paying by holding).
    Statuses {
        /// The changes.
        changes: Vec<StatusChange>,
        /// Done, after commit.
        reply: oneshot::Sender<Result<(), WriteError>>,
    },
    /// Record a file now on disk, and retry messages waiting for it.
    File {
        /// The file.
        written: Written,
        /// Done, after commit.
        reply: oneshot::Sender<Result<(), WriteError>>,
    },
}

/// A change to held content when its owner's balance no longer covers it
/// (see [`crate::charging`]).
#[derive(Clone, Debug, PartialEq)]
pub enum StatusChange {
    /// `processed` → `removing`, collected at `collect_at` unless lifted.
    Mark {
        /// The message.
        item_hash: String,
        /// Unix time of collection.
        collect_at: f64,
        /// Why, for its owner.
        reason: String,
    },
    /// `removing` → `processed`: the balance covers it again.
    Restore {
        /// The message.
        item_hash: String,
    },
    /// `removing` → `removed`: its files are unpinned (and later deleted).
    Collect {
        /// The message.
        item_hash: String,
    },
}

/// A batch of messages whose merkle root is on chain.
#[derive(Clone, Debug)]
pub struct AnchoredBatch {
    /// The key that anchored it (its log holds the root), base58.
    pub submitter: String,
    /// Its seq in the anchors program.
    pub seq: u64,
    /// Its root, hex.
    pub root: String,
    /// The batch file's sha256.
    pub file: String,
    /// The batch file's CID (the content id on chain).
    pub cid: String,
    /// The transaction.
    pub signature: String,
    /// Item hashes in leaf order.
    pub item_hashes: Vec<String>,
}

/// A processed message, for the live stream.
#[derive(Clone, Debug)]
pub struct Processed {
    /// The message.
    pub message: Message,
    /// Its content as JSON.
    pub content: serde_json::Value,
}

/// The handle the API sends work through.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on the database at `path`.
    pub fn start(
        path: PathBuf,
        files: ContentStore,
        max_batch: usize,
        live: broadcast::Sender<Processed>,
    ) -> Result<(Writer, std::thread::JoinHandle<()>), StoreError> {
        let conn = store::open(&path)?;
        // The checkpointer copies the WAL back; SQLite's own checkpoint is
        // only a backstop, should it fall far behind.
        conn.pragma_update(None, "wal_autocheckpoint", 65_536)?;
        let (stop_checkpoints, stopped) = std::sync::mpsc::channel::<()>();
        let checkpointer = checkpointer(store::open(&path)?, stopped);
        let (jobs, rx) = mpsc::channel(max_batch * 4);
        let handle = std::thread::Builder::new()
            .name("aether-node-writer".into())
            .spawn(move || {
                run(conn, rx, files, max_batch, live);
                drop(stop_checkpoints);
                let _ = checkpointer.join();
            })
            .expect("a thread starts");
        Ok((Writer { jobs }, handle))
    }

    /// Sends the job `make` builds around a reply channel, and waits for
    /// the reply, which comes once the job's transaction committed.
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, WriteError>>) -> Job,
    ) -> Result<T, WriteError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(make(reply))
            .await
            .map_err(|_| WriteError::Stopping)?;
        rx.await.map_err(|_| WriteError::Stopping)?
    }

    /// Applies `message` and returns its outcome once committed.
    pub async fn submit(
        &self,
        message: Message,
        content: Option<Content>,
    ) -> Result<Outcome, WriteError> {
        self.ask(|reply| message_job(message, content, reply)).await
    }

    /// Applies many messages in this order (they share commits), and
    /// returns their outcomes in the same order.
    pub async fn submit_many(
        &self,
        items: Vec<(Message, Option<Content>)>,
    ) -> Vec<Result<Outcome, WriteError>> {
        let mut pending = Vec::with_capacity(items.len());
        for (message, content) in items {
            let (reply, rx) = oneshot::channel();
            // One sender, in order: the writer sees them in this order.
            if self
                .jobs
                .send(message_job(message, content, reply))
                .await
                .is_err()
            {
                break;
            }
            pending.push(rx);
        }
        let mut out = Vec::with_capacity(pending.len());
        for rx in pending {
            out.push(rx.await.unwrap_or(Err(WriteError::Stopping)));
        }
        out
    }

    /// Records an anchored batch once committed.
    pub async fn anchored(&self, batch: AnchoredBatch) -> Result<(), WriteError> {
        self.ask(|reply| Job::Anchored {
            batch: Box::new(batch),
            reply,
        })
        .await
    }

    /// Drops the records of unpinned files older than `before` and returns
    /// their sha256s, once committed (the caller deletes them from disk).
    pub async fn collect(&self, before: f64) -> Result<Vec<String>, WriteError> {
        self.ask(|reply| Job::Collect { before, reply }).await
    }

    /// Applies status changes of held content.
    pub async fn statuses(&self, changes: Vec<StatusChange>) -> Result<(), WriteError> {
        self.ask(|reply| Job::Statuses { changes, reply }).await
    }

    /// Records a stored file once committed.
    pub async fn file(&self, written: Written) -> Result<(), WriteError> {
        self.ask(|reply| Job::File { written, reply }).await
    }
}

/// Why the writer did not apply a job.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// The node is stopping: the job was not taken.
    #[error("the node is stopping")]
    Stopping,
    /// The job's transaction failed and was rolled back, with every job
    /// committed with it.
    #[error("storage failed: {0}")]
    Storage(Arc<StoreError>),
}

fn message_job(
    message: Message,
    content: Option<Content>,
    reply: oneshot::Sender<Result<Outcome, WriteError>>,
) -> Job {
    Job::Message {
        message: Box::new(message),
        content: content.map(Box::new),
        reply,
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

enum Reply {
    Message(
        oneshot::Sender<Result<Outcome, WriteError>>,
        Result<Outcome, WriteError>,
        Option<Box<Processed>>,
    ),
    /// A job with nothing to return (a file, an anchored batch).
    Done(oneshot::Sender<Result<(), WriteError>>),
    Collected(
        oneshot::Sender<Result<Vec<String>, WriteError>>,
        Vec<String>,
    ),
}

/// Copies the WAL back into the database twice a second, off the writer's
/// path. With SQLite's automatic checkpoint, one commit in every few
/// hundred also copied and synced the whole WAL, and every client of that
/// commit waited for it. A passive checkpoint never blocks the writer or
/// the readers; it ends after a last pass once `stop` is dropped.
fn checkpointer(
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

fn run(
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
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        since_analyze += batch.len();
        let span = tracing::debug_span!("commit", messages = batch.len());
        let _enter = span.enter();
        let result = apply_batch(&mut conn, batch, &load);
        match result {
            Ok(replies) => {
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
            Err((replies, e)) => {
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
        }
        if since_analyze >= 10_000 {
            analyze(&conn);
            since_analyze = 0;
        }
    }
    tracing::info!("writer stopped");
}

/// Refreshes the planner's statistics, sampling (cheap even on large tables).
fn analyze(conn: &Connection) {
    if let Err(e) = conn.execute_batch("PRAGMA analysis_limit = 2000; ANALYZE;") {
        tracing::warn!(error = %e, "ANALYZE failed");
    }
}

type Batch = Result<Vec<Reply>, (Vec<Reply>, StoreError)>;

fn apply_batch(
    conn: &mut Connection,
    batch: Vec<Job>,
    load: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Batch {
    let tx = match conn.transaction() {
        Ok(tx) => tx,
        Err(e) => return Err((replies_of(batch), e.into())),
    };
    let now = now();
    let mut replies = Vec::with_capacity(batch.len());
    let mut failed = None;
    for job in batch {
        if failed.is_some() {
            replies.extend(replies_of(vec![job]));
            continue;
        }
        match job {
            Job::Message {
                message,
                content,
                reply,
            } => {
                // Content stored apart is rendered now, while it is at hand;
                // inline content is parsed only if someone listens (at send).
                let content_json = match message.item_content {
                    Some(_) => None,
                    None => content_json_of(&message, content.as_deref()),
                };
                match process::apply(&tx, &message, content.map(|c| *c), load, now) {
                    Ok(outcome) => {
                        let processed = (outcome == Outcome::Processed).then(|| {
                            Box::new(Processed {
                                message: *message,
                                content: content_json.unwrap_or_default(),
                            })
                        });
                        replies.push(Reply::Message(reply, Ok(outcome), processed));
                    }
                    Err(e) => {
                        // Never sent: the batch fails, and every reply
                        // gets its error instead.
                        replies.push(Reply::Message(reply, Err(WriteError::Stopping), None));
                        failed = Some(e);
                    }
                }
            }
            Job::Collect { before, reply } => {
                let result = store::unpinned_files(&tx, before).and_then(|files| {
                    for file in &files {
                        tx.exec("DELETE FROM files WHERE sha256 = ?1", [file])?;
                    }
                    Ok(files)
                });
                match result {
                    Ok(files) => replies.push(Reply::Collected(reply, files)),
                    Err(e) => {
                        replies.push(Reply::Collected(reply, Vec::new()));
                        failed = Some(e);
                    }
                }
            }
            Job::Anchored { batch, reply } => {
                let result = record_batch(&tx, &batch, now);
                replies.push(Reply::Done(reply));
                if let Err(e) = result {
                    failed = Some(e);
                }
            }
            Job::Statuses { changes, reply } => {
                let result = changes
                    .iter()
                    .try_for_each(|change| apply_status(&tx, change));
                replies.push(Reply::Done(reply));
                if let Err(e) = result {
                    failed = Some(e);
                }
            }
            Job::File { written, reply } => {
                let result = store::insert_file(
                    &tx,
                    &written.sha256,
                    &written.cid_v0,
                    &written.cid_v1,
                    written.size,
                    now,
                )
                .and_then(|()| retry_waiting(&tx, &written, load, now, &mut replies));
                replies.push(Reply::Done(reply));
                if let Err(e) = result {
                    failed = Some(e);
                }
            }
        }
    }
    if let Some(e) = failed {
        drop(tx); // rolls back
        return Err((replies, e));
    }
    match tx.commit() {
        Ok(()) => Ok(replies),
        Err(e) => Err((replies, e.into())),
    }
}

/// One status change; a message no longer in the status it expects (a
/// FORGET came first) is left as it is.
fn apply_status(tx: &rusqlite::Transaction<'_>, change: &StatusChange) -> Result<(), StoreError> {
    match change {
        StatusChange::Mark {
            item_hash,
            collect_at,
            reason,
        } => tx.exec(
            "UPDATE messages SET status = 'removing', collect_at = ?2, reason = ?3 \
             WHERE item_hash = ?1 AND status = 'processed'",
            rusqlite::params![item_hash, collect_at, reason],
        )?,
        StatusChange::Restore { item_hash } => tx.exec(
            "UPDATE messages SET status = 'processed', collect_at = NULL, reason = NULL \
             WHERE item_hash = ?1 AND status = 'removing'",
            [item_hash],
        )?,
        StatusChange::Collect { item_hash } => {
            let changed = tx.exec(
                "UPDATE messages SET status = 'removed' WHERE item_hash = ?1 AND status = 'removing'",
                [item_hash],
            )?;
            if changed > 0 {
                tx.exec("DELETE FROM file_pins WHERE item_hash = ?1", [item_hash])?;
            }
            changed
        }
    };
    Ok(())
}

fn replies_of(jobs: Vec<Job>) -> Vec<Reply> {
    jobs.into_iter()
        .map(|job| match job {
            Job::Message { reply, .. } => Reply::Message(reply, Err(WriteError::Stopping), None),
            Job::File { reply, .. } | Job::Anchored { reply, .. } | Job::Statuses { reply, .. } => {
                Reply::Done(reply)
            }
            Job::Collect { reply, .. } => Reply::Collected(reply, Vec::new()),
        })
        .collect()
}

/// Messages that were waiting for this file are applied now.
fn retry_waiting(
    tx: &rusqlite::Transaction<'_>,
    written: &Written,
    load: &dyn Fn(&str) -> Option<Vec<u8>>,
    now: f64,
    replies: &mut Vec<Reply>,
) -> Result<(), StoreError> {
    let waiting = process::waiting_for(tx, &[&written.sha256, &written.cid_v0, &written.cid_v1])?;
    for item_hash in waiting {
        // Each claim on the hash as its sender sent it; a row from before
        // claims were kept stands for its own.
        let mut messages: Vec<Message> = process::claims(tx, &item_hash)?
            .iter()
            .filter_map(|json| serde_json::from_str::<serde_json::Value>(json).ok())
            .filter_map(|value| Message::from_value(&value).ok())
            .collect();
        if messages.is_empty() {
            let Some(stored) = store::get_message(tx, &item_hash)? else {
                continue;
            };
            let Ok(message) = Message::from_value(&stored.record) else {
                continue;
            };
            messages.push(message);
        }
        for message in messages {
            retry(tx, message, load, now, replies)?;
        }
    }
    Ok(())
}

/// Applies one waiting message again, now that its file is here.
fn retry(
    tx: &rusqlite::Transaction<'_>,
    message: Message,
    load: &dyn Fn(&str) -> Option<Vec<u8>>,
    now: f64,
    replies: &mut Vec<Reply>,
) -> Result<(), StoreError> {
    let content = message
        .item_content
        .as_ref()
        .and_then(|_| message.content().ok());
    let content_json = content_json_of(&message, content.as_ref());
    let outcome = process::apply(tx, &message, content, load, now)?;
    if outcome == Outcome::Processed {
        // Nobody waits on this reply; it feeds the live stream.
        let (reply, _) = oneshot::channel();
        replies.push(Reply::Message(
            reply,
            Ok(outcome),
            Some(Box::new(Processed {
                message,
                content: content_json.unwrap_or_default(),
            })),
        ));
    }
    Ok(())
}

fn record_batch(
    tx: &rusqlite::Transaction<'_>,
    batch: &AnchoredBatch,
    now: f64,
) -> Result<(), StoreError> {
    tx.exec(
        "INSERT OR REPLACE INTO batches (seq, root, count, file, cid, signature, created, submitter) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![
            batch.seq as i64,
            batch.root,
            batch.item_hashes.len() as i64,
            batch.file,
            batch.cid,
            batch.signature,
            now,
            batch.submitter
        ],
    )?;
    let mut item = tx.prepare_cached(
        "INSERT OR REPLACE INTO batch_items (seq, idx, item_hash) VALUES (?1, ?2, ?3)",
    )?;
    let mut mark = tx.prepare_cached("UPDATE messages SET anchor_seq = ?1 WHERE item_hash = ?2")?;
    for (idx, hash) in batch.item_hashes.iter().enumerate() {
        item.execute(rusqlite::params![batch.seq as i64, idx as i64, hash])?;
        mark.execute(rusqlite::params![batch.seq as i64, hash])?;
    }
    // The batch file is kept for peers that resync.
    tx.exec(
        "INSERT OR IGNORE INTO file_pins (file, item_hash) VALUES (?1, ?2)",
        rusqlite::params![batch.file, format!("batch:{}", batch.seq)],
    )?;
    Ok(())
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

/// The content as JSON for the live stream: parsed from what was sent.
fn content_json_of(message: &Message, content: Option<&Content>) -> Option<serde_json::Value> {
    match &message.item_content {
        Some(text) => serde_json::from_str(text).ok(),
        None => content.and_then(|c| serde_json::from_str(&c.to_item_content()).ok()),
    }
}
