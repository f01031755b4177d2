//! Volumes: the immutable code volume (an ext4 image made from a directory
//! or a tar archive, or a squashfs/ext4 image as given), the ephemeral
//! scratch volume (fresh at every boot), and the persistent volume (kept
//! per program across restarts). Images are checked before a guest sees
//! them; downloads are kept in a [`Cache`] by content id, within a size
//! limit.
//!
//! Here: the errors; `images.rs` how volume images are recognised and
//! made, `cache.rs` the [`Cache`] of downloaded ones.

mod cache;
mod images;

use std::path::{Path, PathBuf};

pub use cache::Cache;
pub use images::{
    code_volume_from_archive, code_volume_from_dir, empty_volume, fs_type, rootfs_volume,
};

/// Why a volume could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// Not an ext4 or squashfs image.
    #[error("{0} is not a volume image (neither ext4 nor squashfs)")]
    NotAnImage(PathBuf),
    /// Over the size limit.
    #[error("{what} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// What.
        what: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// An instance's root file system could not be made.
    #[error("root file system: {0}")]
    Rootfs(String),
    /// mke2fs failed.
    #[error("mke2fs: {0}")]
    Mkfs(String),
    /// A file.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The archive does not unpack.
    #[error("the archive does not unpack: {0}")]
    Archive(String),
    /// A download from a core node failed or did not match its id.
    #[error("fetching {id}: {message}")]
    Fetch {
        /// The content id asked for.
        id: String,
        /// Why.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> VolumeError + '_ {
    move |e| VolumeError::Io(path.to_path_buf(), e)
}
