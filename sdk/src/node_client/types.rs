//! What the node client sends and gets back: message statuses, filters,
//! pages and storage engines.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::Message;

/// Where a message stands on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Received, not yet processed.
    Pending,
    /// Accepted and applied.
    Processed,
    /// Refused; the node says why.
    Rejected,
    /// Its content was removed by a FORGET.
    Forgotten,
    /// Being removed (unpaid).
    Removing,
    /// Removed (unpaid).
    Removed,
}

impl MessageStatus {
    /// The status as the API and the node's database write it:
    /// `pending`, `processed`, `rejected`, `forgotten`, `removing`, `removed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Processed => "processed",
            MessageStatus::Rejected => "rejected",
            MessageStatus::Forgotten => "forgotten",
            MessageStatus::Removing => "removing",
            MessageStatus::Removed => "removed",
        }
    }
}

impl std::fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status word no node writes.
#[derive(Debug, thiserror::Error)]
#[error("unknown message status {0:?}")]
pub struct UnknownStatus(pub String);

impl std::str::FromStr for MessageStatus {
    type Err = UnknownStatus;

    /// ```
    /// use aether_sdk::node_client::MessageStatus;
    ///
    /// assert_eq!("removing".parse::<MessageStatus>().unwrap(), MessageStatus::Removing);
    /// assert!("Removing".parse::<MessageStatus>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            MessageStatus::Pending,
            MessageStatus::Processed,
            MessageStatus::Rejected,
            MessageStatus::Forgotten,
            MessageStatus::Removing,
            MessageStatus::Removed,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
        .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// A message with its status, as `GET /api/v0/messages/{hash}` answers.
#[derive(Clone, Debug)]
pub struct MessageWithStatus {
    /// Where it stands.
    pub status: MessageStatus,
    /// The message (absent for some rejected ones).
    pub message: Option<Message>,
    /// For rejected messages: the node's error code and details.
    pub error: Option<Value>,
    /// For forgotten messages: the FORGETs that did it.
    pub forgotten_by: Vec<String>,
    /// The whole answer.
    pub raw: Value,
}

/// Filters of the message list and the message stream. Empty means any.
#[derive(Clone, Debug, Default)]
pub struct MessageFilter {
    /// Senders.
    pub addresses: Vec<String>,
    /// Channels.
    pub channels: Vec<String>,
    /// Message types (`POST`, `STORE`…).
    pub types: Vec<String>,
    /// Item hashes.
    pub hashes: Vec<String>,
    /// `ref` of the content.
    pub refs: Vec<String>,
    /// Content types (a POST's `type`).
    pub content_types: Vec<String>,
    /// Aggregate keys.
    pub content_keys: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Chains of the senders.
    pub chains: Vec<String>,
    /// From this Unix time.
    pub start_date: Option<f64>,
    /// Until this Unix time.
    pub end_date: Option<f64>,
    /// Oldest first instead of newest first.
    pub ascending: bool,
}

impl MessageFilter {
    /// The query parameters, named as the node API names them.
    pub fn query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        for (name, values) in [
            ("addresses", &self.addresses),
            ("channels", &self.channels),
            ("msgTypes", &self.types),
            ("hashes", &self.hashes),
            ("refs", &self.refs),
            ("contentTypes", &self.content_types),
            ("contentKeys", &self.content_keys),
            ("tags", &self.tags),
            ("chains", &self.chains),
        ] {
            if !values.is_empty() {
                q.push((name.to_string(), values.join(",")));
            }
        }
        if let Some(t) = self.start_date {
            q.push(("startDate".into(), t.to_string()));
        }
        if let Some(t) = self.end_date {
            q.push(("endDate".into(), t.to_string()));
        }
        q.push((
            "sortOrder".into(),
            if self.ascending { "1" } else { "-1" }.into(),
        ));
        q
    }
}

/// One page of messages.
#[derive(Clone, Debug)]
pub struct MessagePage {
    /// The messages.
    pub messages: Vec<Message>,
    /// The page number (from 1).
    pub pagination_page: u64,
    /// Messages per page.
    pub pagination_per_page: u64,
    /// Messages matching, over all pages.
    pub pagination_total: u64,
}

/// One page of posts, amendments applied.
#[derive(Clone, Debug, Deserialize)]
pub struct PostPage {
    /// The posts, as the node shows them.
    pub posts: Vec<Value>,
    /// The page number (from 1).
    pub pagination_page: u64,
    /// Posts per page.
    pub pagination_per_page: u64,
    /// Posts matching, over all pages.
    pub pagination_total: u64,
}

/// Where a file goes: the node's storage (named by sha256) or IPFS (by CID).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageEngine {
    /// `POST /api/v0/storage/add_file`, named by sha256 hex.
    Storage,
    /// `POST /api/v0/ipfs/add_file`, named by CIDv0.
    Ipfs,
}
