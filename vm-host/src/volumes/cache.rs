//! Downloaded volumes kept by content id, within a size limit.

use std::fs;
use std::path::{Path, PathBuf};

use super::{io, VolumeError};

/// Files kept by content id under one directory, the least recently used
/// dropped first when the total passes `limit` bytes.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
    limit: u64,
}

impl Cache {
    /// A cache in `dir`.
    pub fn new(dir: PathBuf, limit: u64) -> Result<Cache, VolumeError> {
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(Cache { dir, limit })
    }

    /// Where `id` is (or would be) kept.
    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// The file for `id`, if cached (and marks it used).
    pub fn get(&self, id: &str) -> Option<PathBuf> {
        let path = self.path(id);
        let file = fs::File::options().append(true).open(&path).ok()?;
        let _ = file.set_modified(std::time::SystemTime::now());
        Some(path)
    }

    /// Moves `file` into the cache as `id`, then trims the cache, never
    /// dropping `id` itself. Refuses a file larger than the whole cache.
    pub fn insert(&self, id: &str, file: &Path) -> Result<PathBuf, VolumeError> {
        let size = fs::metadata(file).map_err(io(file))?.len();
        if size > self.limit {
            return Err(VolumeError::TooLarge {
                what: format!("volume {id}"),
                size,
                limit: self.limit,
            });
        }
        let path = self.path(id);
        fs::rename(file, &path).map_err(io(&path))?;
        self.trim(id)?;
        Ok(path)
    }

    /// The file `id` (a sha256 or a CID) from the cache, or else fetched
    /// from the core node behind `node` (checked against `id` as it
    /// streams in, and refused past `limit` bytes), then kept.
    pub async fn fetch(
        &self,
        node: &aether_sdk::node_client::NodeClient,
        id: &str,
        limit: u64,
    ) -> Result<PathBuf, VolumeError> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(VolumeError::Fetch {
                id: id.to_string(),
                message: "not a content id".into(),
            });
        }
        if let Some(path) = self.get(id) {
            return Ok(path);
        }
        let partial = self.dir.join(format!(".{id}.partial"));
        let file = tokio::fs::File::create(&partial)
            .await
            .map_err(io(&partial))?;
        let mut out = Limited {
            file,
            left: limit.min(self.limit),
        };
        let fetched = node.download_file(id, &mut out, |_, _| {}).await;
        if let Err(e) = fetched {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(VolumeError::Fetch {
                id: id.to_string(),
                message: e.to_string(),
            });
        }
        self.insert(id, &partial)
    }

    fn trim(&self, keep: &str) -> Result<(), VolumeError> {
        let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = fs::read_dir(&self.dir)
            .map_err(io(&self.dir))?
            .flatten()
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.limit {
                break;
            }
            if path.file_name().and_then(|n| n.to_str()) == Some(keep) {
                continue;
            }
            if fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
        Ok(())
    }
}

/// A file that refuses to grow past `left` more bytes.
struct Limited {
    file: tokio::fs::File,
    left: u64,
}

impl tokio::io::AsyncWrite for Limited {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if buf.len() as u64 > self.left {
            return std::task::Poll::Ready(Err(std::io::Error::other(
                "the file is larger than the cache allows",
            )));
        }
        let this = &mut *self;
        let written = std::pin::Pin::new(&mut this.file).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = &written {
            this.left -= *n as u64;
        }
        written
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.file).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.file).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_drops_the_least_recently_used() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"), 250).unwrap();
        for (i, id) in ["a", "b", "c"].iter().enumerate() {
            let file = dir.path().join(id);
            fs::write(&file, vec![i as u8; 100]).unwrap();
            cache.insert(id, &file).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(cache.get("a").is_none(), "the oldest went");
        assert!(cache.get("b").is_some() && cache.get("c").is_some());
        let huge = dir.path().join("huge");
        fs::write(&huge, vec![0u8; 300]).unwrap();
        assert!(cache.insert("huge", &huge).is_err());
    }
}
