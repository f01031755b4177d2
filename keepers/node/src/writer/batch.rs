//! One batch of jobs in one transaction: each job applied in turn, its
//! reply queued; the first failure rolls the whole batch back.

use std::time::{SystemTime, UNIX_EPOCH};

use aether_sdk::message::{Content, Message};
use rusqlite::{Connection, Transaction};
use tokio::sync::oneshot;

use super::records::{apply_status, collect_unpinned, record_batch, record_file};
use super::{Job, Processed, WriteError};
use crate::process::{self, Outcome};
use crate::store::StoreError;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

pub(super) enum Reply {
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

pub(super) type Batch = Result<Vec<Reply>, (Vec<Reply>, StoreError)>;

pub(super) fn apply_batch(
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
        if let Err(e) = apply_job(&tx, job, load, now, &mut replies) {
            failed = Some(e);
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

/// Applies one job in the batch's transaction and queues its reply, after
/// those of the messages it let through (a file's waiting messages).
fn apply_job(
    tx: &Transaction<'_>,
    job: Job,
    load: &dyn Fn(&str) -> Option<Vec<u8>>,
    now: f64,
    replies: &mut Vec<Reply>,
) -> Result<(), StoreError> {
    let (reply, result) = match job {
        Job::Message {
            message,
            content,
            reply,
        } => apply_message(tx, message, content, reply, load, now),
        Job::Collect { before, reply } => match collect_unpinned(tx, before) {
            Ok(files) => (Reply::Collected(reply, files), Ok(())),
            Err(e) => (Reply::Collected(reply, Vec::new()), Err(e)),
        },
        Job::Anchored { batch, reply } => (Reply::Done(reply), record_batch(tx, &batch, now)),
        Job::Statuses { changes, reply } => (
            Reply::Done(reply),
            changes
                .iter()
                .try_for_each(|change| apply_status(tx, change)),
        ),
        Job::File { written, reply } => (
            Reply::Done(reply),
            record_file(tx, &written, load, now, replies),
        ),
    };
    replies.push(reply);
    result
}

/// Applies a message; its reply, and the error that fails the batch.
fn apply_message(
    tx: &Transaction<'_>,
    message: Box<Message>,
    content: Option<Box<Content>>,
    reply: oneshot::Sender<Result<Outcome, WriteError>>,
    load: &dyn Fn(&str) -> Option<Vec<u8>>,
    now: f64,
) -> (Reply, Result<(), StoreError>) {
    // Content stored apart is rendered now, while it is at hand;
    // inline content is parsed only if someone listens (at send).
    let content_json = match message.item_content {
        Some(_) => None,
        None => content_json_of(&message, content.as_deref()),
    };
    match process::apply(tx, &message, content.map(|c| *c), load, now) {
        Ok(outcome) => {
            let processed = (outcome == Outcome::Processed).then(|| {
                Box::new(Processed {
                    message: *message,
                    content: content_json.unwrap_or_default(),
                })
            });
            (Reply::Message(reply, Ok(outcome), processed), Ok(()))
        }
        Err(e) => {
            // Never sent: the batch fails, and every reply
            // gets its error instead.
            (
                Reply::Message(reply, Err(WriteError::Stopping), None),
                Err(e),
            )
        }
    }
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

/// The content as JSON for the live stream: parsed from what was sent.
pub(super) fn content_json_of(
    message: &Message,
    content: Option<&Content>,
) -> Option<serde_json::Value> {
    match &message.item_content {
        Some(text) => serde_json::from_str(text).ok(),
        None => content.and_then(|c| serde_json::from_str(&c.to_item_content()).ok()),
    }
}
