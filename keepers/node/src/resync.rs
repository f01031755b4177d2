//! Resync: a node that starts empty rebuilds its messages from the chain and
//! its peers. It reads every `BatchAnchored` event of the anchors program,
//! fetches each batch file from the peers by its content id, checks the
//! file against the anchored root and count, and processes the messages in
//! it like any others. A batch no peer can give is listed and retried with
//! backoff; it never holds up the others.

use std::sync::Arc;
use std::time::Duration;

use aether_sdk::anchors_program::events::BatchAnchored;
use aether_sdk::events::Event;
use aether_sdk::message::{verify_batch, Content, ItemType, Message};
use aether_sdk::proof::merkle;
use serde_json::Value;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_rpc_client_api::config::RpcTransactionConfig;
use solana_transaction_status_client_types::UiTransactionEncoding;

use crate::files::ContentStore;
use crate::peers::Peers;
use crate::process::Outcome;
use crate::store::{self, Readers};
use crate::writer::Writer;

/// Messages checked together during a resync.
const CHECK_CHUNK: usize = 1024;

/// Parses and verifies `raw` messages (signatures by ed25519 batch),
/// returning those that pass with their inline content. Batch checking
/// accepts exactly what one-by-one checking does, except signatures built
/// with small-order components, which only a key's owner can make.
fn check_chunk(raw: Vec<Value>) -> Vec<(Message, Option<Content>)> {
    let parsed: Vec<Message> = raw
        .iter()
        .filter_map(|v| match Message::from_value(v) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(error = %e, "resync: an anchored message does not parse; skipped");
                None
            }
        })
        .collect();
    let results = verify_batch(&parsed);
    parsed
        .into_iter()
        .zip(results)
        .filter_map(|(message, result)| {
            let content = match result {
                Ok(()) if message.item_type == ItemType::Inline => message.content().map(Some),
                Ok(()) => Ok(None),
                Err(e) => Err(e),
            };
            match content {
                Ok(content) => Some((message, content)),
                Err(e) => {
                    tracing::warn!(error = %e, "resync: an anchored message does not verify; skipped");
                    None
                }
            }
        })
        .collect()
}

/// What the writer answered for each message submitted, in order.
type Submitted = Vec<Result<Outcome, crate::writer::WriteError>>;

/// The messages of a batch file, once they match the anchored count and
/// root.
fn anchored_messages(bytes: &[u8], batch: &BatchAnchored) -> Result<Vec<Value>, String> {
    let mut parsed: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the batch file is not JSON: {e}"))?;
    let Value::Array(messages) = parsed["messages"].take() else {
        return Err("the batch file has no messages".into());
    };
    let leaves: Vec<_> = messages
        .iter()
        .map(|m| merkle::leaf_hash(m["item_hash"].as_str().unwrap_or_default().as_bytes()))
        .collect();
    if messages.len() as u32 != batch.count || merkle::root(&leaves) != Some(batch.root) {
        return Err("the batch file does not match the anchored root".into());
    }
    Ok(messages)
}

/// Called with (batches done, batches in all, messages imported).
pub type Progress = Arc<dyn Fn(u64, u64, u64) + Send + Sync>;

/// How a node resyncs.
#[derive(Clone)]
pub struct ResyncConfig {
    /// JSON-RPC URL of the cluster whose anchors to follow.
    pub rpc_url: String,
    /// Rounds of retries for batches no peer could give.
    pub retries: u32,
    /// Told as batches are imported.
    pub progress: Option<Progress>,
}

impl std::fmt::Debug for ResyncConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResyncConfig")
            .field("rpc_url", &self.rpc_url)
            .field("retries", &self.retries)
            .finish()
    }
}

/// What a resync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResyncReport {
    /// Batches anchored on chain.
    pub batches: usize,
    /// Messages imported (newly processed here).
    pub imported: u64,
    /// Batches that could not be imported: seq, content id, why.
    pub missing: Vec<(u64, String, String)>,
}

/// Why the anchored history could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading the anchored batches: {0}")]
pub struct ResyncError(String);

impl ResyncError {
    pub(crate) fn from_join(e: tokio::task::JoinError) -> Self {
        ResyncError(format!("the resync task ended: {e}"))
    }
}

/// Every `BatchAnchored` event of the anchors program, oldest first.
pub async fn anchored_batches(rpc: &RpcClient) -> Result<Vec<BatchAnchored>, ResyncError> {
    let program = aether_sdk::anchors_program::ID;
    let mut signatures = Vec::new();
    let mut before = None;
    loop {
        let page = rpc
            .get_signatures_for_address_with_config(
                &program,
                GetConfirmedSignaturesForAddress2Config {
                    before,
                    until: None,
                    limit: Some(1000),
                    commitment: Some(CommitmentConfig::confirmed()),
                },
            )
            .await
            .map_err(|e| ResyncError(e.to_string()))?;
        let Some(last) = page.last() else { break };
        before = Some(
            last.signature
                .parse()
                .map_err(|_| ResyncError("a bad signature".into()))?,
        );
        let full = page.len() == 1000;
        signatures.extend(
            page.into_iter()
                .filter(|s| s.err.is_none())
                .map(|s| s.signature),
        );
        if !full {
            break;
        }
    }
    signatures.reverse();
    let mut events = Vec::new();
    for signature in signatures {
        let signature = signature
            .parse()
            .map_err(|_| ResyncError("a bad signature".into()))?;
        let tx = rpc
            .get_transaction_with_config(
                &signature,
                RpcTransactionConfig {
                    encoding: Some(UiTransactionEncoding::Json),
                    commitment: Some(CommitmentConfig::confirmed()),
                    max_supported_transaction_version: Some(0),
                },
            )
            .await
            .map_err(|e| ResyncError(e.to_string()))?;
        let found = aether_sdk::events::from_transaction(&signature.to_string(), &tx)
            .map_err(|e| ResyncError(e.to_string()))?;
        events.extend(found.into_iter().filter_map(|e| match e {
            Event::BatchAnchored(b) => Some(b),
            _ => None,
        }));
    }
    events.sort_by_key(|e| e.seq);
    Ok(events)
}

pub(crate) struct Resync {
    pub config: ResyncConfig,
    pub peers: Peers,
    pub readers: Readers,
    pub writer: Writer,
    pub files: ContentStore,
    pub max_file_size: u64,
}

impl Resync {
    /// Imports every anchored batch; returns what it did.
    pub async fn run(self) -> Result<ResyncReport, ResyncError> {
        let rpc = RpcClient::new_with_commitment(
            self.config.rpc_url.clone(),
            CommitmentConfig::confirmed(),
        );
        let batches = anchored_batches(&rpc).await?;
        let total = batches.len() as u64;
        tracing::info!(batches = total, "resync: anchored batches found");
        let mut report = ResyncReport {
            batches: batches.len(),
            ..Default::default()
        };
        let mut pending: Vec<BatchAnchored> = batches;
        let mut done = 0u64;
        let mut last_errors = Vec::new();
        for round in 0..=self.config.retries {
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(round.min(6)))).await;
                tracing::info!(
                    round,
                    waiting = pending.len(),
                    "resync: retrying batches no peer gave"
                );
            }
            let mut failed = Vec::new();
            last_errors.clear();
            for batch in pending {
                let span = tracing::info_span!("resync_batch", seq = batch.seq);
                let _enter = span.enter();
                match self.import(&batch).await {
                    Ok(n) => {
                        done += 1;
                        report.imported += n;
                        if let Some(progress) = &self.config.progress {
                            progress(done, total, report.imported);
                        }
                    }
                    Err(why) => {
                        tracing::warn!(seq = batch.seq, %why, "resync: batch set aside");
                        last_errors.push(why);
                        failed.push(batch);
                    }
                }
            }
            pending = failed;
            if pending.is_empty() {
                break;
            }
        }
        report.missing = pending
            .iter()
            .zip(last_errors)
            .map(|(b, why)| {
                (
                    b.seq,
                    String::from_utf8_lossy(&b.content_id).into_owned(),
                    why,
                )
            })
            .collect();
        tracing::info!(
            batches = report.batches,
            imported = report.imported,
            missing = report.missing.len(),
            "resync finished"
        );
        for (seq, cid, why) in &report.missing {
            tracing::warn!(seq, %cid, %why, "resync: batch still missing");
        }
        Ok(report)
    }

    async fn import(&self, batch: &BatchAnchored) -> Result<u64, String> {
        let cid = String::from_utf8(batch.content_id.clone())
            .map_err(|_| "the content id is not text".to_string())?;
        let bytes = self.batch_file(&cid).await?;
        let messages = anchored_messages(&bytes, batch)?;
        let (outcomes, needs) = self.check_and_submit(messages).await?;
        Ok(self.count_imported(outcomes, needs).await)
    }

    /// The bytes of the batch file `cid`, fetched from the peers unless it
    /// is here already.
    async fn batch_file(&self, cid: &str) -> Result<Vec<u8>, String> {
        let known = {
            let c = cid.to_string();
            self.readers
                .with(move |r| store::find_file(r, &c))
                .await
                .map_err(|e| e.to_string())?
        };
        if known.is_none()
            && !self
                .peers
                .fetch_file(cid, &self.files, &self.writer, self.max_file_size)
                .await
        {
            return Err(format!("no peer gave the batch file {cid}"));
        }
        let c = cid.to_string();
        let file = self
            .readers
            .with(move |r| store::find_file(r, &c))
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the batch file {cid} is not recorded"))?;
        tokio::fs::read(self.files.path(&file.sha256))
            .await
            .map_err(|e| e.to_string())
    }

    /// Checks and submits `messages`; their outcomes in batch order, and
    /// the file each may wait for.
    async fn check_and_submit(
        &self,
        messages: Vec<Value>,
    ) -> Result<(Submitted, Vec<Option<String>>), String> {
        // Each message is checked in full, as if a client had sent it: a
        // chunk at a time on the blocking threads (ed25519 in batches),
        // while the writer applies the chunk before, so checking and
        // writing overlap. Submitted in batch order, they share commits.
        let mut outcomes = Vec::with_capacity(messages.len());
        let mut needs = Vec::with_capacity(messages.len());
        let mut writing: Option<tokio::task::JoinHandle<Submitted>> = None;
        let mut messages = messages.into_iter().peekable();
        while messages.peek().is_some() {
            let chunk: Vec<Value> = messages.by_ref().take(CHECK_CHUNK).collect();
            let checked = tokio::task::spawn_blocking(move || check_chunk(chunk))
                .await
                .map_err(|e| e.to_string())?;
            needs.extend(
                checked
                    .iter()
                    .map(|(m, c)| crate::process::awaited_file(m, c.as_ref())),
            );
            if let Some(previous) = writing.take() {
                outcomes.extend(previous.await.map_err(|e| e.to_string())?);
            }
            let writer = self.writer.clone();
            writing = Some(tokio::spawn(
                async move { writer.submit_many(checked).await },
            ));
        }
        if let Some(last) = writing.take() {
            outcomes.extend(last.await.map_err(|e| e.to_string())?);
        }
        Ok((outcomes, needs))
    }

    /// How many of the submitted messages were imported: those processed,
    /// and those waiting for a file the peers then gave.
    async fn count_imported(&self, outcomes: Submitted, needs: Vec<Option<String>>) -> u64 {
        let mut imported = 0;
        for (outcome, need) in outcomes.into_iter().zip(needs) {
            match outcome {
                Ok(Outcome::Processed) => imported += 1,
                // Its file comes from the peers; recording it processes the message.
                Ok(Outcome::Pending(_)) => {
                    if let Some(hash) = need {
                        if self
                            .peers
                            .fetch_file(&hash, &self.files, &self.writer, self.max_file_size)
                            .await
                        {
                            imported += 1;
                        }
                    }
                }
                _ => {}
            }
        }
        imported
    }
}
