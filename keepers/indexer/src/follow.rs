//! Following the chain: a scan reads, for each program, the signatures
//! newer than its cursor (`getSignaturesForAddress`), fetches those
//! transactions (`getTransaction`), and records their events. Scans run on
//! a timer and whenever `logsSubscribe` reports that a program was
//! mentioned.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aether_sdk::events::{self, program_ids, program_name};
use futures_util::{StreamExt, TryStreamExt};
use rusqlite::Connection;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_rpc_client_api::config::RpcTransactionConfig;
use solana_rpc_client_api::response::RpcConfirmedTransactionStatusWithSignature;
use solana_transaction_status_client_types::UiTransactionEncoding;

use crate::endpoints::Endpoints;
use crate::store::{self, Scanned};
use crate::IndexerError;

/// Signatures asked for per page; the RPC maximum.
const PAGE: usize = 1000;
/// Transactions recorded per SQLite transaction.
const CHUNK: usize = 64;

/// Counters shown on `/metrics` and `/status`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Events recorded since start.
    pub events: AtomicU64,
    /// Transactions read since start.
    pub transactions: AtomicU64,
    /// Scans done, and scans that failed.
    pub scans: AtomicU64,
    /// Scans that failed.
    pub scan_errors: AtomicU64,
    /// `logsSubscribe` notifications received.
    pub notifications: AtomicU64,
    /// The newest slot any endpoint reported.
    pub head_slot: AtomicU64,
    /// Every transaction up to this slot is recorded.
    pub synced_slot: AtomicU64,
    /// The chain's clock (unix seconds) at the last scan; 0 before the
    /// first. What has accrued is reckoned by it: a localnet's clock may run
    /// ahead of the wall clock.
    pub chain_time: AtomicI64,
}

impl Metrics {
    /// Slots between the chain's head and what is recorded.
    pub fn lag(&self) -> u64 {
        self.head_slot
            .load(Ordering::Relaxed)
            .saturating_sub(self.synced_slot.load(Ordering::Relaxed))
    }
}

/// Reads the chain into the database.
pub struct Follower {
    pub(crate) endpoints: Arc<Endpoints>,
    pub(crate) conn: Arc<Mutex<Connection>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) concurrency: usize,
}

impl Follower {
    /// One scan of all four programs; returns the events recorded.
    pub async fn scan(&self) -> Result<u64, IndexerError> {
        let head = self
            .endpoints
            .call("getSlot", |c| async move { c.get_slot().await })
            .await?;
        self.metrics.head_slot.fetch_max(head, Ordering::Relaxed);
        let clock = self
            .endpoints
            .call("getAccountInfo", |c| async move {
                use aether_sdk::anchor_lang::{prelude::Clock, solana_program::sysvar::SysvarId};
                c.get_account(&<Clock as SysvarId>::id()).await
            })
            .await?;
        if let Some(time) = aether_sdk::programs::client::clock_unix_timestamp(&clock.data) {
            self.metrics.chain_time.fetch_max(time, Ordering::Relaxed);
        }
        let mut added = 0;
        for program in program_ids() {
            let name = program_name(&program).expect("one of ours");
            let span = tracing::debug_span!("scan", program = name);
            let _enter = span.enter();
            let cursor = {
                let conn = self.conn.lock().unwrap();
                store::cursor(&conn, name)?
            };
            let signatures = self.new_signatures(program, cursor.map(|(s, _)| s)).await?;
            if signatures.is_empty() {
                continue;
            }
            tracing::debug!(program = name, new = signatures.len(), "new transactions");
            for chunk in signatures.chunks(CHUNK) {
                let scanned: Vec<Scanned> = futures_util::stream::iter(chunk.iter().cloned())
                    .map(|s| self.fetch(program, s))
                    .buffered(self.concurrency.max(1))
                    .try_collect()
                    .await?;
                let conn = self.conn.clone();
                let count = scanned.len() as u64;
                let recorded = aether_keeper::blocking(move || {
                    Ok::<_, IndexerError>(store::record(&mut conn.lock().unwrap(), name, &scanned)?)
                })
                .await?;
                self.metrics
                    .transactions
                    .fetch_add(count, Ordering::Relaxed);
                self.metrics.events.fetch_add(recorded, Ordering::Relaxed);
                added += recorded;
            }
        }
        {
            let conn = self.conn.lock().unwrap();
            store::set_meta(&conn, "synced_slot", head)?;
        }
        self.metrics.synced_slot.fetch_max(head, Ordering::Relaxed);
        Ok(added)
    }

    /// Signatures of `program` newer than `until`, oldest first.
    async fn new_signatures(
        &self,
        program: aether_sdk::anchor_lang::prelude::Pubkey,
        until: Option<String>,
    ) -> Result<Vec<RpcConfirmedTransactionStatusWithSignature>, IndexerError> {
        let until = until
            .map(|s| s.parse().map_err(|_| IndexerError::Cursor(s)))
            .transpose()?;
        let mut all = Vec::new();
        let mut before = None;
        loop {
            let page = self
                .endpoints
                .call("getSignaturesForAddress", |c| async move {
                    c.get_signatures_for_address_with_config(
                        &program,
                        GetConfirmedSignaturesForAddress2Config {
                            before,
                            until,
                            limit: Some(PAGE),
                            commitment: Some(CommitmentConfig::confirmed()),
                        },
                    )
                    .await
                })
                .await?;
            let full = page.len() == PAGE;
            before = match page.last() {
                Some(last) => Some(
                    last.signature
                        .parse()
                        .map_err(|_| IndexerError::Cursor(last.signature.clone()))?,
                ),
                None => None,
            };
            all.extend(page);
            if !full {
                break;
            }
        }
        all.reverse();
        Ok(all)
    }

    /// The events `program` emitted in one transaction.
    async fn fetch(
        &self,
        program: aether_sdk::anchor_lang::prelude::Pubkey,
        status: RpcConfirmedTransactionStatusWithSignature,
    ) -> Result<Scanned, IndexerError> {
        let mut scanned = Scanned {
            signature: status.signature.clone(),
            slot: status.slot,
            block_time: status.block_time,
            events: Vec::new(),
        };
        // A failed transaction changed nothing; its signature only moves the cursor.
        if status.err.is_some() {
            return Ok(scanned);
        }
        let signature = status
            .signature
            .parse()
            .map_err(|_| IndexerError::Cursor(status.signature.clone()))?;
        let tx = self
            .endpoints
            .call("getTransaction", |c| async move {
                c.get_transaction_with_config(
                    &signature,
                    RpcTransactionConfig {
                        encoding: Some(UiTransactionEncoding::Json),
                        commitment: Some(CommitmentConfig::confirmed()),
                        max_supported_transaction_version: Some(0),
                    },
                )
                .await
            })
            .await?;
        // The block time stays the one `getSignaturesForAddress` gave:
        // Surfpool's `getTransaction` reports 0 until the block is stored
        // and a wrong value after, which would make a restart differ.
        scanned.events = events::from_transaction(&status.signature, &tx)?
            .into_iter()
            .enumerate()
            .filter(|(_, e)| e.program() == program)
            .collect();
        Ok(scanned)
    }
}
