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

use std::path::Path;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::content_id::{CidBuilder, CidVersion};
use crate::message::{Message, MessageError, SignedMessage};

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

/// A client of one core node.
#[derive(Clone, Debug)]
pub struct NodeClient {
    base: String,
    http: reqwest::Client,
}

const UPLOAD_CHUNK: usize = 256 * 1024;

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
        request
            .send()
            .await
            .map_err(|source| ClientError::Transport {
                url: url.to_string(),
                source,
            })
    }

    async fn json_of(response: reqwest::Response, url: &str) -> Result<Value, ClientError> {
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|source| ClientError::Transport {
                url: url.to_string(),
                source,
            })?;
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

    /// Sends a signed message. Content too large to inline is stored first.
    /// With `wait`, the node answers once the message is processed (or
    /// after its own wait, with `Pending`). A refused message is
    /// [`ClientError::Rejected`].
    pub async fn post_message(
        &self,
        signed: &SignedMessage,
        wait: bool,
    ) -> Result<MessageStatus, ClientError> {
        if let Some(content) = &signed.storage_content {
            let url = self.url("/api/v0/storage/add_json");
            let response = self
                .send(
                    self.http
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(content.clone()),
                    &url,
                )
                .await?;
            let body = Self::json_of(response, &url).await?;
            if body.get("hash").and_then(Value::as_str) != Some(signed.message.item_hash.as_str()) {
                return Err(ClientError::Http {
                    url,
                    status: 200,
                    body: format!("stored content under another hash: {body}"),
                });
            }
        }
        let url = self.url("/api/v0/messages");
        let response = self
            .send(
                self.http
                    .post(&url)
                    .json(&json!({ "sync": wait, "message": signed.message })),
                &url,
            )
            .await?;
        match response.status() {
            StatusCode::OK => Ok(MessageStatus::Processed),
            StatusCode::ACCEPTED => Ok(MessageStatus::Pending),
            StatusCode::UNPROCESSABLE_ENTITY
            | StatusCode::FORBIDDEN
            | StatusCode::PAYMENT_REQUIRED => {
                let text = response.text().await.unwrap_or_default();
                Err(ClientError::Rejected {
                    body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
                })
            }
            _ => Self::json_of(response, &url)
                .await
                .map(|_| MessageStatus::Pending),
        }
    }

    /// A message by item hash, with its status.
    pub async fn message(&self, item_hash: &str) -> Result<MessageWithStatus, ClientError> {
        let url = self.url(&format!("/api/v0/messages/{item_hash}"));
        let raw = Self::json_of(self.send(self.http.get(&url), &url).await?, &url).await?;
        let status: MessageStatus = serde_json::from_value(
            raw.get("status").cloned().unwrap_or(Value::Null),
        )
        .map_err(|_| ClientError::Http {
            url: url.clone(),
            status: 200,
            body: format!("no status in {raw}"),
        })?;
        // Pending messages come as a list (`messages`), others as `message`.
        let message = match raw.get("message").or_else(|| raw.pointer("/messages/0")) {
            Some(m) if status != MessageStatus::Rejected => Some(Message::from_value(m)?),
            Some(m) => Message::from_value(m).ok(),
            None => None,
        };
        let error = (status == MessageStatus::Rejected)
            .then(|| json!({ "error_code": raw.get("error_code"), "details": raw.get("details") }));
        let forgotten_by = raw
            .get("forgotten_by")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        Ok(MessageWithStatus {
            status,
            message,
            error,
            forgotten_by,
            raw,
        })
    }

    /// The proof that the message is in a batch anchored on chain; check it
    /// with [`crate::proof::verify_anchored`]. [`ClientError::NotFound`]
    /// until the node has anchored it.
    pub async fn proof(&self, item_hash: &str) -> Result<crate::proof::AnchoredProof, ClientError> {
        let url = self.url(&format!("/api/v0/messages/{item_hash}/proof"));
        let raw = Self::json_of(self.send(self.http.get(&url), &url).await?, &url).await?;
        serde_json::from_value(json!({
            "submitter": raw.get("submitter"),
            "seq": raw.get("seq"),
            "index": raw.get("index"),
            "siblings": raw.get("siblings"),
        }))
        .map_err(|_| ClientError::Http {
            url,
            status: 200,
            body: format!("not a proof: {raw}"),
        })
    }

    /// Polls until the message is no longer pending, up to `timeout`.
    pub async fn wait_processed(
        &self,
        item_hash: &str,
        timeout: Duration,
    ) -> Result<MessageWithStatus, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.message(item_hash).await {
                Ok(m) if m.status != MessageStatus::Pending => return Ok(m),
                Ok(_) | Err(ClientError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::Timeout(item_hash.to_string()));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// One page (from 1) of messages matching `filter`.
    pub async fn messages(
        &self,
        filter: &MessageFilter,
        page: u64,
        per_page: u64,
    ) -> Result<MessagePage, ClientError> {
        let url = self.url("/api/v0/messages.json");
        let mut query = filter.query();
        query.push(("page".into(), page.to_string()));
        query.push(("pagination".into(), per_page.to_string()));
        let raw = Self::json_of(
            self.send(self.http.get(&url).query(&query), &url).await?,
            &url,
        )
        .await?;
        let number = |field: &str| raw.get(field).and_then(Value::as_u64).unwrap_or(0);
        let messages = raw
            .get("messages")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(Message::from_value)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(MessagePage {
            messages,
            pagination_page: number("pagination_page"),
            pagination_per_page: number("pagination_per_page"),
            pagination_total: number("pagination_total"),
        })
    }

    /// The aggregates of `address`: every key, or only `keys`.
    pub async fn aggregates(
        &self,
        address: &str,
        keys: &[&str],
    ) -> Result<Map<String, Value>, ClientError> {
        let url = self.url(&format!("/api/v0/aggregates/{address}.json"));
        let mut request = self.http.get(&url);
        if !keys.is_empty() {
            request = request.query(&[("keys", keys.join(","))]);
        }
        let raw = Self::json_of(self.send(request, &url).await?, &url).await?;
        match raw.get("data") {
            Some(Value::Object(data)) => Ok(data.clone()),
            _ => Err(ClientError::Http {
                url,
                status: 200,
                body: format!("no data in {raw}"),
            }),
        }
    }

    /// One page (from 1) of posts matching `filter` (its `types` are post
    /// types), latest amendments applied.
    pub async fn posts(
        &self,
        filter: &MessageFilter,
        page: u64,
        per_page: u64,
    ) -> Result<PostPage, ClientError> {
        let url = self.url("/api/v0/posts.json");
        let mut query: Vec<(String, String)> = filter
            .query()
            .into_iter()
            .map(|(k, v)| {
                if k == "msgTypes" {
                    ("types".into(), v)
                } else {
                    (k, v)
                }
            })
            .collect();
        query.push(("page".into(), page.to_string()));
        query.push(("pagination".into(), per_page.to_string()));
        let raw = Self::json_of(
            self.send(self.http.get(&url).query(&query), &url).await?,
            &url,
        )
        .await?;
        serde_json::from_value(raw.clone()).map_err(|_| ClientError::Http {
            url,
            status: 200,
            body: format!("not a page of posts: {raw}"),
        })
    }

    /// Uploads a file, streamed from disk; `progress(sent, total)` is
    /// called as it goes. Returns the file's hash (sha256 hex or CIDv0),
    /// checked against what was computed locally.
    pub async fn upload_file(
        &self,
        path: &Path,
        engine: StorageEngine,
        mut progress: impl FnMut(u64, u64) + Send + 'static,
    ) -> Result<String, ClientError> {
        let io = |e: std::io::Error| ClientError::Io(format!("{}: {e}", path.display()));
        let file = tokio::fs::File::open(path).await.map_err(io)?;
        let total = file.metadata().await.map_err(io)?.len();
        // The hash the node must answer with, computed while reading.
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        let mut tx = Some(tx);
        let mut sha = Sha256::new();
        let mut cid = CidBuilder::new(CidVersion::V0);
        let mut sent = 0u64;
        let reader = futures_util::stream::unfold(file, move |mut file| {
            let mut buf = vec![0u8; UPLOAD_CHUNK];
            async move {
                match file.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok::<Vec<u8>, std::io::Error>(buf), file))
                    }
                    Err(e) => Some((Err(e), file)),
                }
            }
        })
        .map(move |chunk| {
            if let Ok(bytes) = &chunk {
                sha.update(bytes);
                cid.update(bytes);
                sent += bytes.len() as u64;
                progress(sent, total);
                if sent == total {
                    if let Some(tx) = tx.take() {
                        let hash = match engine {
                            StorageEngine::Storage => hex::encode(sha.clone().finalize()),
                            StorageEngine::Ipfs => {
                                std::mem::replace(&mut cid, CidBuilder::new(CidVersion::V0))
                                    .finish()
                                    .to_string()
                            }
                        };
                        let _ = tx.send(hash);
                    }
                }
            }
            chunk
        });
        let part =
            reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(reader), total)
                .file_name(
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "file".into()),
                )
                .mime_str("application/octet-stream")
                .expect("a valid MIME type");
        let form = reqwest::multipart::Form::new().part("file", part);
        let url = self.url(match engine {
            StorageEngine::Storage => "/api/v0/storage/add_file",
            StorageEngine::Ipfs => "/api/v0/ipfs/add_file",
        });
        let raw = Self::json_of(
            self.send(self.http.post(&url).multipart(form), &url)
                .await?,
            &url,
        )
        .await?;
        let answered = raw
            .get("hash")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let local = if total == 0 {
            match engine {
                StorageEngine::Storage => hex::encode(Sha256::digest(b"")),
                StorageEngine::Ipfs => CidBuilder::new(CidVersion::V0).finish().to_string(),
            }
        } else {
            rx.await.map_err(|_| {
                ClientError::Io("the upload stopped before the end of the file".into())
            })?
        };
        if answered != local {
            return Err(ClientError::Corrupt(format!(
                "{} (node said {answered}, file is {local})",
                path.display()
            )));
        }
        Ok(answered)
    }

    /// Downloads the file named by `hash` (sha256 hex or CID) into `out`,
    /// calling `progress(received, total)` (total 0 when unknown). The bytes
    /// are checked against the hash; returns how many were written.
    pub async fn download_file(
        &self,
        hash: &str,
        out: &mut (impl AsyncWrite + Unpin),
        mut progress: impl FnMut(u64, u64),
    ) -> Result<u64, ClientError> {
        let url = self.url(&format!("/api/v0/storage/raw/{hash}"));
        let response = self.send(self.http.get(&url), &url).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(ClientError::NotFound(hash.to_string()));
        }
        if !response.status().is_success() {
            let status = response.status().as_u16();
            return Err(ClientError::Http {
                url,
                status,
                body: response.text().await.unwrap_or_default(),
            });
        }
        let total = response.content_length().unwrap_or(0);
        let mut sha = Sha256::new();
        let cid_version = hash
            .parse::<crate::content_id::Cid>()
            .ok()
            .map(|c| c.version());
        let mut cid = cid_version.map(CidBuilder::new);
        let mut received = 0u64;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| ClientError::Transport {
                url: url.clone(),
                source,
            })?;
            sha.update(&chunk);
            if let Some(cid) = cid.as_mut() {
                cid.update(&chunk);
            }
            out.write_all(&chunk)
                .await
                .map_err(|e| ClientError::Io(e.to_string()))?;
            received += chunk.len() as u64;
            progress(received, total);
        }
        out.flush()
            .await
            .map_err(|e| ClientError::Io(e.to_string()))?;
        let matches = match cid {
            Some(cid) => cid.finish().to_string() == hash,
            None => hex::encode(sha.finalize()) == hash,
        };
        if !matches {
            return Err(ClientError::Corrupt(hash.to_string()));
        }
        Ok(received)
    }

    /// New messages matching `filter` as they arrive, after the last
    /// `history` matching ones (oldest first). Ends when the node closes.
    pub async fn subscribe(
        &self,
        filter: &MessageFilter,
        history: u32,
    ) -> Result<impl Stream<Item = Result<Message, ClientError>>, ClientError> {
        let mut query = filter.query();
        query.push(("history".into(), history.to_string()));
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", url_escape(v)))
            .collect();
        let base = self
            .base
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        let url = format!("{base}/api/ws0/messages?{}", query.join("&"));
        let (socket, _) = tokio_tungstenite::connect_async(&url)
            .await
            .map_err(|e| ClientError::Io(format!("{url}: {e}")))?;
        Ok(socket.filter_map(|frame| async move {
            use tokio_tungstenite::tungstenite::Message as Frame;
            match frame {
                Ok(Frame::Text(text)) => {
                    Some(Message::from_json(text.as_str()).map_err(ClientError::from))
                }
                Ok(_) => None,
                Err(e) => Some(Err(ClientError::Io(e.to_string()))),
            }
        }))
    }
}

fn url_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
