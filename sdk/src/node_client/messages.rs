//! The message calls of [`NodeClient`]: send, read, list, prove, wait for
//! and subscribe to messages; aggregates and posts.

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use super::{
    unexpected, ClientError, MessageFilter, MessagePage, MessageStatus, MessageWithStatus,
    NodeClient, PostPage,
};
use crate::message::{Message, SignedMessage};

impl NodeClient {
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
            let request = self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(content.clone());
            let body = self.json(request, &url).await?;
            if body.get("hash").and_then(Value::as_str) != Some(signed.message.item_hash.as_str()) {
                return Err(unexpected(
                    url,
                    format!("stored content under another hash: {body}"),
                ));
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
        let raw = self.json(self.http.get(&url), &url).await?;
        let status: MessageStatus =
            serde_json::from_value(raw.get("status").cloned().unwrap_or(Value::Null))
                .map_err(|_| unexpected(url.clone(), format!("no status in {raw}")))?;
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
        let raw = self.json(self.http.get(&url), &url).await?;
        serde_json::from_value(json!({
            "submitter": raw.get("submitter"),
            "seq": raw.get("seq"),
            "index": raw.get("index"),
            "siblings": raw.get("siblings"),
        }))
        .map_err(|_| unexpected(url, format!("not a proof: {raw}")))
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
        let query = paged(filter.query(), page, per_page);
        let raw = self.json(self.http.get(&url).query(&query), &url).await?;
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
        let raw = self.json(request, &url).await?;
        match raw.get("data") {
            Some(Value::Object(data)) => Ok(data.clone()),
            _ => Err(unexpected(url, format!("no data in {raw}"))),
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
        // The posts endpoint calls the post types `types`, not `msgTypes`.
        let query: Vec<(String, String)> = filter
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
        let query = paged(query, page, per_page);
        let raw = self.json(self.http.get(&url).query(&query), &url).await?;
        serde_json::from_value(raw.clone())
            .map_err(|_| unexpected(url, format!("not a page of posts: {raw}")))
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

/// `query` asking for one page (from 1) of `per_page` results.
fn paged(mut query: Vec<(String, String)>, page: u64, per_page: u64) -> Vec<(String, String)> {
    query.push(("page".into(), page.to_string()));
    query.push(("pagination".into(), per_page.to_string()));
    query
}

/// Percent-encodes all but unreserved characters and `,`, which the node
/// reads as the separator of a list.
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
