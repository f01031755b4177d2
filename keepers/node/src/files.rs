//! The content store: files on disk named by their sha256, written to a
//! temporary name, fsync'd and renamed, so a crash never leaves half a file
//! under a real name.

use std::path::{Path, PathBuf};

use aether_sdk::content_id::{CidBuilder, CidVersion};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// Where files live.
#[derive(Clone, Debug)]
pub struct ContentStore {
    dir: PathBuf,
    tmp: PathBuf,
}

/// A file written to the store, with its ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// sha256 hex.
    pub sha256: String,
    /// CIDv0, as `ipfs add` gives it.
    pub cid_v0: String,
    /// CIDv1 with raw leaves.
    pub cid_v1: String,
    /// Size in bytes.
    pub size: u64,
}

/// Why a file was not stored.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Over the configured limit.
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// Disk trouble.
    #[error("content store: {0}")]
    Io(#[from] std::io::Error),
    /// The upload stream broke.
    #[error("the upload broke off: {0}")]
    Body(String),
}

/// Receives a file piece by piece, hashing as it writes.
pub struct Incoming {
    file: tokio::fs::File,
    path: PathBuf,
    sha: Sha256,
    v0: CidBuilder,
    v1: CidBuilder,
    size: u64,
    limit: u64,
}

impl ContentStore {
    /// The store under `dir` (created).
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let store = ContentStore {
            dir: dir.join("files"),
            tmp: dir.join("tmp"),
        };
        std::fs::create_dir_all(&store.dir)?;
        // Leftovers of uploads cut short by a crash.
        let _ = std::fs::remove_dir_all(&store.tmp);
        std::fs::create_dir_all(&store.tmp)?;
        Ok(store)
    }

    /// The path of the file with this sha256.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(sha256)
    }

    /// Starts receiving a file of at most `limit` bytes.
    pub async fn incoming(&self, limit: u64) -> Result<Incoming, FileError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self.tmp.join(format!("{}-{n}", std::process::id()));
        Ok(Incoming {
            file: tokio::fs::File::create(&path).await?,
            path,
            sha: Sha256::new(),
            v0: CidBuilder::new(CidVersion::V0),
            v1: CidBuilder::new(CidVersion::V1),
            size: 0,
            limit,
        })
    }

    /// Stores `bytes` whole.
    pub async fn put(&self, bytes: &[u8], limit: u64) -> Result<Written, FileError> {
        let mut incoming = self.incoming(limit).await?;
        incoming.write(bytes).await?;
        incoming.finish(self).await
    }

    /// Removes a file (garbage collection).
    pub async fn remove(&self, sha256: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(sha256)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

impl Incoming {
    /// Appends `bytes`; refuses (and removes the partial file) past the limit.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), FileError> {
        self.size += bytes.len() as u64;
        if self.size > self.limit {
            self.abort().await;
            return Err(FileError::TooLarge { limit: self.limit });
        }
        self.sha.update(bytes);
        self.v0.update(bytes);
        self.v1.update(bytes);
        self.file.write_all(bytes).await?;
        Ok(())
    }

    /// Appends everything `stream` yields. A broken stream is
    /// [`FileError::Body`] and, like going past the limit, removes the
    /// partial file.
    pub async fn write_stream<B: AsRef<[u8]>, E: std::fmt::Display>(
        &mut self,
        stream: impl futures_util::Stream<Item = Result<B, E>>,
    ) -> Result<(), FileError> {
        use futures_util::StreamExt;
        futures_util::pin_mut!(stream);
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => self.write(bytes.as_ref()).await?,
                Err(e) => {
                    self.abort().await;
                    return Err(FileError::Body(e.to_string()));
                }
            }
        }
        Ok(())
    }

    /// Drops the partial file.
    pub async fn abort(&mut self) {
        let _ = tokio::fs::remove_file(&self.path).await;
    }

    /// Syncs the file and moves it under its sha256.
    pub async fn finish(mut self, store: &ContentStore) -> Result<Written, FileError> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        let written = Written {
            sha256: hex::encode(self.sha.finalize()),
            cid_v0: self.v0.finish().to_string(),
            cid_v1: self.v1.finish().to_string(),
            size: self.size,
        };
        tokio::fs::rename(&self.path, store.path(&written.sha256)).await?;
        // The rename is durable once the directory is synced.
        if let Ok(dir) = tokio::fs::File::open(&store.dir).await {
            let _ = dir.sync_all().await;
        }
        Ok(written)
    }
}
