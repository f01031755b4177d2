//! The one writer: applies messages in SQLite transactions of up to
//! `max_batch` messages and answers each only after its transaction
//! commits, so nothing acknowledged is lost and nothing is half-applied.
//!
//! Layout: this file the jobs and the [`Writer`] handle; `thread.rs` the
//! writer thread, its replies and the checkpointer; `batch.rs` one batch
//! of jobs in one transaction; `records.rs` what the jobs other than
//! messages write, and the messages a new file lets through.

use std::path::PathBuf;
use std::sync::Arc;

use aether_sdk::message::{Content, Message};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::files::{ContentStore, Written};
use crate::process::Outcome;
use crate::store::{self, StoreError};

mod batch;
mod records;
mod thread;

use thread::{checkpointer, run};

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
