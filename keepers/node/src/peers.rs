//! Peers: a message this node processes is pushed to every peer's HTTP API,
//! where it is checked in full like any other and deduplicated by item hash
//! (a message a peer already has is not pushed on, so pushes end). Files
//! follow on demand: a message waiting for a file fetches it from the peers
//! by its hash, checks it, and is then processed.

use std::time::Duration;

use serde_json::json;
use tokio::sync::{broadcast, watch};

use crate::files::ContentStore;
use crate::writer::{Processed, Writer};

/// The peers of a node, by base URL.
#[derive(Clone, Debug)]
pub struct Peers {
    urls: Vec<String>,
    http: reqwest::Client,
}

impl Peers {
    /// Peers at these base URLs (e.g. `http://10.0.0.2:4024`).
    pub fn new(urls: Vec<String>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client builds");
        Peers {
            urls: urls
                .into_iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            http,
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    /// One task per peer that pushes every processed message to it until
    /// the node stops, for the caller to run: a slow or dead peer delays
    /// no other.
    pub fn pushers(
        &self,
        live: &broadcast::Sender<Processed>,
        stopping: watch::Receiver<bool>,
    ) -> Vec<impl std::future::Future<Output = ()> + Send + 'static> {
        let mut pushers = Vec::new();
        for url in &self.urls {
            let mut rx = live.subscribe();
            let (http, url, mut stopping) = (self.http.clone(), url.clone(), stopping.clone());
            pushers.push(async move {
                loop {
                    let processed = tokio::select! {
                        p = rx.recv() => p,
                        _ = stopping.changed() => return,
                    };
                    let processed = match processed {
                        Ok(p) => p,
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(peer = %url, skipped = n, "pushes fell behind; the peer will miss some messages");
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    };
                    push(&http, &url, &processed).await;
                }
            });
        }
        pushers
    }

    /// Fetches the file named `hash` (sha256 or CID) from the first peer
    /// that has it, checks that it hashes to `hash`, and records it (which
    /// processes the messages waiting for it). Tries each peer a few times.
    pub async fn fetch_file(
        &self,
        hash: &str,
        files: &ContentStore,
        writer: &Writer,
        limit: u64,
    ) -> bool {
        for attempt in 0..3u32 {
            for url in &self.urls {
                let span = tracing::debug_span!("fetch", peer = %url, %hash);
                let _enter = span.enter();
                let Ok(response) = self
                    .http
                    .get(format!("{url}/api/v0/storage/raw/{hash}"))
                    .send()
                    .await
                else {
                    continue;
                };
                if !response.status().is_success() {
                    continue;
                }
                let Ok(mut incoming) = files.incoming(limit).await else {
                    return false;
                };
                if incoming
                    .write_stream(response.bytes_stream())
                    .await
                    .is_err()
                {
                    incoming.abort().await;
                    continue;
                }
                let Ok(written) = incoming.finish(files).await else {
                    continue;
                };
                if ![&written.sha256, &written.cid_v0, &written.cid_v1].contains(&&hash.to_string())
                {
                    tracing::warn!(peer = %url, %hash, "a peer served other bytes under this hash");
                    let _ = files.remove(&written.sha256).await;
                    continue;
                }
                return writer.file(written).await.is_ok();
            }
            tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt))).await;
        }
        tracing::warn!(%hash, "no peer could give this file");
        false
    }
}

async fn push(http: &reqwest::Client, url: &str, processed: &Processed) {
    let body = json!({ "sync": false, "message": processed.message });
    for attempt in 0..5u32 {
        match http
            .post(format!("{url}/api/v0/messages"))
            .json(&body)
            .send()
            .await
        {
            // Any answer is final: accepted, known, or refused by the peer's own checks.
            Ok(r) if r.status().is_success() || r.status().is_client_error() => return,
            Ok(r) => tracing::debug!(peer = %url, status = %r.status(), "push failed"),
            Err(e) => tracing::debug!(peer = %url, error = %e, "push failed"),
        }
        tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
    }
    tracing::warn!(peer = %url, item_hash = %processed.message.item_hash, "gave up pushing to a peer");
}
