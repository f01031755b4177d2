//! [`NodeClient`]: the core node's HTTP API (Aleph API v0 compatible).
//!
//! ```no_run
//! # async fn example() -> Result<(), aether_sdk::node_client::ClientError> {
//! use aether_sdk::message::{MessageBuilder, PostBuilder};
//! use aether_sdk::message::sign::SolanaAccount;
//! use aether_sdk::node_client::{MessageFilter, NodeClient};
//! use serde_json::json;
//!
//! let node = NodeClient::new("http://127.0.0.1:4024");
//! let account = SolanaAccount::from_keypair_file("id.json").unwrap();
//! let signed = MessageBuilder::new(&account)
//!     .build(PostBuilder::new("chat").content(json!({"body": "hi"})))
//!     .unwrap();
//! let status = node.post_message(&signed, true).await?;
//! println!("{status:?}");
//! let page = node
//!     .messages(&MessageFilter { channels: vec!["AETHER".into()], ..Default::default() }, 1, 20)
//!     .await?;
//! println!("{} messages", page.pagination_total);
//! # Ok(()) }
//! ```
//!
//! The types of requests and answers are in `types`, the message calls in
//! `messages`, file upload and download in `files`.

mod files;
mod messages;
mod types;

pub use types::{
    MessageFilter, MessagePage, MessageStatus, MessageWithStatus, PostPage, StorageEngine,
    UnknownStatus,
};

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::message::MessageError;

/// What went wrong talking to a node.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request did not complete (connection, timeout, TLS).
    #[error("request to {url} failed: {source}")]
    Transport {
        /// The URL asked.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// The node refused the message; `body` says why.
    #[error("the node rejected the message: {body}")]
    Rejected {
        /// The node's answer.
        body: Value,
    },
    /// Nothing is known under that hash.
    #[error("not found: {0}")]
    NotFound(String),
    /// An answer this client does not understand, or an error status.
    #[error("{url} answered {status}: {body}")]
    Http {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The body, for people.
        body: String,
    },
    /// A message in an answer does not parse.
    #[error("a message from the node is malformed: {0}")]
    Message(#[from] MessageError),
    /// Downloaded bytes do not hash to what was asked.
    #[error("the content downloaded for {0} does not match its hash")]
    Corrupt(String),
    /// Local file or WebSocket trouble.
    #[error("{0}")]
    Io(String),
    /// Waited too long.
    #[error("{0} was still pending after the wait")]
    Timeout(String),
}

/// A client of one core node.
#[derive(Clone, Debug)]
pub struct NodeClient {
    base: String,
    http: reqwest::Client,
}

impl NodeClient {
    /// A client of the node at `base_url` (e.g. `http://127.0.0.1:4024`).
    pub fn new(base_url: impl Into<String>) -> Self {
        let base = base_url.into().trim_end_matches('/').to_string();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .expect("a default HTTP client builds");
        NodeClient { base, http }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<reqwest::Response, ClientError> {
        request.send().await.map_err(transport(url))
    }

    async fn json_of(response: reqwest::Response, url: &str) -> Result<Value, ClientError> {
        let status = response.status();
        let text = response.text().await.map_err(transport(url))?;
        if status == StatusCode::NOT_FOUND {
            return Err(ClientError::NotFound(url.to_string()));
        }
        if !status.is_success() {
            return Err(ClientError::Http {
                url: url.to_string(),
                status: status.as_u16(),
                body: text,
            });
        }
        serde_json::from_str(&text).map_err(|_| ClientError::Http {
            url: url.to_string(),
            status: status.as_u16(),
            body: format!("not JSON: {text}"),
        })
    }

    /// Sends `request` (to `url`) and reads its JSON answer: what nearly
    /// every call does.
    async fn json(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<Value, ClientError> {
        Self::json_of(self.send(request, url).await?, url).await
    }
}

/// The request to `url` did not complete.
fn transport(url: &str) -> impl FnOnce(reqwest::Error) -> ClientError + '_ {
    move |source| ClientError::Transport {
        url: url.to_string(),
        source,
    }
}

/// `url` answered 200, but not with what the API promises.
fn unexpected(url: String, body: String) -> ClientError {
    ClientError::Http {
        url,
        status: 200,
        body,
    }
}
