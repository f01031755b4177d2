//! Files on a node: streamed upload and download, each checked against
//! the hash computed locally.

use std::path::Path;

use futures_util::{Stream, StreamExt};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

use super::{transport, ClientError, NodeClient, StorageEngine};
use crate::content_id::{CidBuilder, CidVersion};

const UPLOAD_CHUNK: usize = 256 * 1024;

impl NodeClient {
    /// Uploads a file, streamed from disk; `progress(sent, total)` is
    /// called as it goes. Returns the file's hash (sha256 hex or CIDv0),
    /// checked against what was computed locally.
    pub async fn upload_file(
        &self,
        path: &Path,
        engine: StorageEngine,
        progress: impl FnMut(u64, u64) + Send + 'static,
    ) -> Result<String, ClientError> {
        let io = |e: std::io::Error| ClientError::Io(format!("{}: {e}", path.display()));
        let file = tokio::fs::File::open(path).await.map_err(io)?;
        let total = file.metadata().await.map_err(io)?.len();
        // The hash the node must answer with, computed while reading.
        let (reader, rx) = hashed_chunks(file, total, engine, progress);
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
        let raw = self
            .json(self.http.post(&url).multipart(form), &url)
            .await?;
        let answered = raw
            .get("hash")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let local = if total == 0 {
            // No chunk is read, so the stream never sends: name no bytes.
            engine_hash(engine, &Sha256::new(), &mut CidBuilder::new(CidVersion::V0))
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
            let chunk = chunk.map_err(transport(&url))?;
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
}

/// `file` as the chunks of a request body, hashed and counted on the way
/// out: `progress(sent, total)` after each chunk, and the file's hash
/// under `engine` on the receiver once `total` bytes went (never for an
/// empty file, which yields no chunk).
fn hashed_chunks(
    file: tokio::fs::File,
    total: u64,
    engine: StorageEngine,
    mut progress: impl FnMut(u64, u64) + Send + 'static,
) -> (
    impl Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static,
    oneshot::Receiver<String>,
) {
    let (tx, rx) = oneshot::channel::<String>();
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
                    let _ = tx.send(engine_hash(engine, &sha, &mut cid));
                }
            }
        }
        chunk
    });
    (reader, rx)
}

/// The name under `engine` of the bytes `sha` and `cid` were fed: sha256
/// hex for storage, the CIDv0 for IPFS (which takes `cid`, leaving a fresh
/// builder, as finishing consumes it).
fn engine_hash(engine: StorageEngine, sha: &Sha256, cid: &mut CidBuilder) -> String {
    match engine {
        StorageEngine::Storage => hex::encode(sha.clone().finalize()),
        StorageEngine::Ipfs => std::mem::replace(cid, CidBuilder::new(CidVersion::V0))
            .finish()
            .to_string(),
    }
}
