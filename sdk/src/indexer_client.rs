//! Reading the indexers: what the four programs did, as JSON over HTTP.
//!
//! An indexer (`aether keeper indexer`) follows the programs' events into
//! its own database. Several may run side by side; [`IndexerClient`] asks a
//! random one and falls back to the others when it fails.
//!
//! ```no_run
//! # async fn example() -> Result<(), aether_sdk::indexer_client::IndexerClientError> {
//! use aether_sdk::indexer_client::{IndexerClient, StreamFilter};
//!
//! let indexers = IndexerClient::new(["http://127.0.0.1:4030", "http://127.0.0.1:4031"])?;
//! let status = indexers.status().await?;
//! println!("{} slots behind the chain", status.lag_slots);
//! for stream in indexers.streams(&StreamFilter::default()).await?.items {
//!     println!("{} has {} accrued", stream.stream, stream.accrued);
//! }
//! # Ok(()) }
//! ```

use std::time::Duration;

use rand::seq::SliceRandom;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexedEvent {
    /// Slot of its transaction.
    pub slot: u64,
    /// Its transaction's signature.
    pub signature: String,
    /// Its index among the transaction's events.
    pub index: u32,
    /// Block time of its transaction, when known.
    pub block_time: Option<i64>,
    /// `staking`, `registry`, `escrow` or `anchors`.
    pub program: String,
    /// The event's type, e.g. `StreamSettled`.
    pub name: String,
    /// Its fields (see [`crate::events::Event::to_json`]).
    pub data: Value,
}

/// What a node offers, from its registry record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedCapacity {
    /// Virtual CPUs.
    pub vcpus: u16,
    /// Memory, MiB.
    pub memory_mib: u32,
    /// Disk, GiB.
    pub disk_gib: u32,
}

/// A registered node with its stake and score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedNode {
    /// The registry record's address.
    pub record: String,
    /// `Core` or `Resource`.
    pub kind: String,
    /// Who registered it.
    pub owner: String,
    /// The key its record is derived from: a core node's staking node, a
    /// resource node's identity key.
    pub identity: String,
    /// A resource node's core node record.
    pub parent: Option<String>,
    /// The staking node backing it: a core node's own, a resource node's
    /// parent's.
    pub staking_node: Option<String>,
    /// The staking node's total stake, base units.
    pub stake: u64,
    /// The staking node's last known status (`Inactive`, `Pending`,
    /// `Active`, `Closed`).
    pub status: Option<String>,
    /// Its API endpoint.
    pub endpoint: String,
    /// Its peer-to-peer address (core nodes).
    pub p2p_address: String,
    /// Its capacity (resource nodes).
    pub capacity: IndexedCapacity,
    /// Lowest compute price it accepts, base units per second.
    pub min_price_compute_per_second: u64,
    /// Lowest storage price it accepts, base units per GB-month.
    pub min_price_storage_per_gb_month: u64,
    /// Its score, 0 to 10,000: the median of the last scored epoch.
    pub score: u16,
    /// The epoch of that score.
    pub score_epoch: Option<u64>,
}

/// One provider's slot in a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedProvider {
    /// The provider's registry record.
    pub provider: String,
    /// Paid to it so far, base units.
    pub paid: u64,
}

/// A payment stream and what it has paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedStream {
    /// The stream's address.
    pub stream: String,
    /// Who opened it.
    pub owner: String,
    /// The resource it pays for: the item hash, hex.
    pub resource: String,
    /// `Compute` or `Storage`.
    pub kind: String,
    /// The rate shared by its providers, base units per second.
    pub max_rate_per_second: u64,
    /// Providers it pays at most.
    pub replicas: u8,
    /// Its providers, in slot order.
    pub providers: Vec<IndexedProvider>,
    /// Deposited in total, base units.
    pub deposited: u64,
    /// Paid out in total.
    pub paid_out: u64,
    /// Accrued since the last settlement and not yet paid, as of the
    /// indexer's clock, capped by what the vault holds.
    pub accrued: u64,
    /// Unix time of the last settlement.
    pub last_settled: i64,
    /// Unix time it was opened.
    pub opened_at: i64,
    /// The vault ran dry: providers stop serving.
    pub exhausted: bool,
    /// Closed by its owner.
    pub closed: bool,
    /// Refunded at closing.
    pub refund: Option<u64>,
}

/// One anchored batch of messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedBatch {
    /// Its sequence number.
    pub seq: u64,
    /// The merkle root, hex.
    pub root: String,
    /// Messages in it.
    pub count: u32,
    /// Content id of the batch file.
    pub content_id: String,
    /// The node that anchored it.
    pub submitter: String,
    /// The anchoring transaction.
    pub signature: String,
    /// Its slot.
    pub slot: u64,
}

/// A custom domain's binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedDomain {
    /// The binding's address.
    pub binding: String,
    /// The domain name.
    pub domain: String,
    /// Item hash of the PROGRAM or INSTANCE it serves, hex.
    pub target: String,
    /// Who requested it.
    pub owner: String,
    /// `Pending`, `Live`, `Rejected` or `Withdrawn`.
    pub status: String,
    /// Core nodes that found the TXT record right.
    pub approvals: u32,
    /// Core nodes that found it missing or wrong.
    pub rejections: u32,
}

/// One endpoint the indexer reads from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexerEndpoint {
    /// JSON-RPC URL.
    pub url: String,
    /// Left out for now after an error or lag.
    pub resting: bool,
}

/// How far the indexer has read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexerStatus {
    /// The newest slot its endpoints reported.
    pub head_slot: u64,
    /// Every transaction up to this slot is recorded.
    pub synced_slot: u64,
    /// `head_slot - synced_slot`.
    pub lag_slots: u64,
    /// Events recorded in total.
    pub events: u64,
    /// Its endpoints.
    pub endpoints: Vec<IndexerEndpoint>,
}

/// A page of a list; pass `next` back as `after` for the following page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last one.
    pub next: Option<String>,
}

/// Filters of [`IndexerClient::events`].
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only events of this type.
    pub name: Option<String>,
    /// Only events of this program (`staking`, `registry`, …).
    pub program: Option<String>,
    /// Only from this slot on.
    pub from_slot: Option<u64>,
    /// Page size (at most 1,000; default 100).
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// Filters of [`IndexerClient::streams`].
#[derive(Debug, Clone, Default)]
pub struct StreamFilter {
    /// Only streams opened by this key.
    pub owner: Option<String>,
    /// Only streams paying for this resource (hex item hash).
    pub resource: Option<String>,
    /// Only streams this provider record holds a slot in.
    pub provider: Option<String>,
    /// Only streams neither closed nor exhausted.
    pub open_only: bool,
    /// Page size (at most 1,000; default 100).
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// Why no indexer answered.
#[derive(Debug, thiserror::Error)]
pub enum IndexerClientError {
    /// A URL that is not http(s).
    #[error("{0}: an indexer URL is http:// or https://")]
    BadUrl(String),
    /// No URL given.
    #[error("no indexer URL given")]
    NoIndexer,
    /// Every indexer failed; their errors, in the order tried.
    #[error("no indexer answered: {0}")]
    AllFailed(String),
    /// An indexer answered 404: the item does not exist.
    #[error("not found")]
    NotFound,
}

/// Reads from a set of indexers: each request goes to a random one and,
/// when it fails, to the next.
#[derive(Debug, Clone)]
pub struct IndexerClient {
    urls: Vec<String>,
    http: reqwest::Client,
}

/// Query pairs with the unset ones left out.
fn query(pairs: &[(&'static str, Option<String>)]) -> Vec<(&'static str, String)> {
    pairs
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (*k, v)))
        .collect()
}

impl IndexerClient {
    /// A client over `urls` (at least one).
    pub fn new<I, S>(urls: I) -> Result<Self, IndexerClientError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let urls: Vec<String> = urls
            .into_iter()
            .map(|u| u.into().trim_end_matches('/').to_owned())
            .collect();
        if urls.is_empty() {
            return Err(IndexerClientError::NoIndexer);
        }
        if let Some(bad) = urls
            .iter()
            .find(|u| !u.starts_with("http://") && !u.starts_with("https://"))
        {
            return Err(IndexerClientError::BadUrl(bad.clone()));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a TLS-less reqwest client builds");
        Ok(IndexerClient { urls, http })
    }

    /// GETs `path` with `query` from a random indexer, then the others,
    /// until one answers.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, IndexerClientError> {
        let mut order: Vec<&String> = self.urls.iter().collect();
        order.shuffle(&mut rand::thread_rng());
        let mut errors = Vec::new();
        for base in order {
            let url = format!("{base}{path}");
            match self.http.get(&url).query(query).send().await {
                Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {
                    return Err(IndexerClientError::NotFound)
                }
                Ok(r) if r.status().is_success() => match r.json::<T>().await {
                    Ok(v) => return Ok(v),
                    Err(e) => errors.push(format!("{base}: {e}")),
                },
                Ok(r) => errors.push(format!("{base}: HTTP {}", r.status())),
                Err(e) => errors.push(format!("{base}: {e}")),
            }
        }
        Err(IndexerClientError::AllFailed(errors.join("; ")))
    }

    /// How far the indexer has read.
    pub async fn status(&self) -> Result<IndexerStatus, IndexerClientError> {
        self.get("/status", &[]).await
    }

    /// Events, oldest first.
    pub async fn events(
        &self,
        filter: &EventFilter,
    ) -> Result<Page<IndexedEvent>, IndexerClientError> {
        let q = query(&[
            ("name", filter.name.clone()),
            ("program", filter.program.clone()),
            ("from_slot", filter.from_slot.map(|s| s.to_string())),
            ("limit", filter.limit.map(|s| s.to_string())),
            ("after", filter.after.clone()),
        ]);
        self.get("/events", &q).await
    }

    /// Registered nodes, optionally of one kind (`Core` or `Resource`).
    pub async fn nodes(&self, kind: Option<&str>) -> Result<Vec<IndexedNode>, IndexerClientError> {
        self.get("/nodes", &query(&[("kind", kind.map(str::to_owned))]))
            .await
    }

    /// One node by its record address.
    pub async fn node(&self, record: &str) -> Result<IndexedNode, IndexerClientError> {
        self.get(&format!("/nodes/{record}"), &[]).await
    }

    /// Streams matching `filter`.
    pub async fn streams(
        &self,
        filter: &StreamFilter,
    ) -> Result<Page<IndexedStream>, IndexerClientError> {
        let q = query(&[
            ("owner", filter.owner.clone()),
            ("resource", filter.resource.clone()),
            ("provider", filter.provider.clone()),
            ("open", filter.open_only.then(|| "true".to_owned())),
            ("limit", filter.limit.map(|s| s.to_string())),
            ("after", filter.after.clone()),
        ]);
        self.get("/streams", &q).await
    }

    /// One stream by its address.
    pub async fn stream(&self, stream: &str) -> Result<IndexedStream, IndexerClientError> {
        self.get(&format!("/streams/{stream}"), &[]).await
    }

    /// Domain bindings, optionally only those with `status` (e.g. `Live`).
    pub async fn domains(
        &self,
        status: Option<&str>,
    ) -> Result<Vec<IndexedDomain>, IndexerClientError> {
        self.get("/domains", &query(&[("status", status.map(str::to_owned))]))
            .await
    }

    /// Anchored batches from sequence number `from_seq` on.
    pub async fn batches(
        &self,
        from_seq: u64,
        limit: u32,
    ) -> Result<Vec<IndexedBatch>, IndexerClientError> {
        self.get(
            "/batches",
            &[
                ("from_seq", from_seq.to_string()),
                ("limit", limit.to_string()),
            ],
        )
        .await
    }
}
