//! Content ids of files: the sha256 hex digest, and IPFS CIDs exactly as
//! kubo computes them with its default settings.
//!
//! - [`CidVersion::V0`] is `ipfs add`: 256 KiB chunks, each wrapped in a
//!   UnixFS `File` node, joined in a balanced DAG of at most 174 links per
//!   node, addressed as base58 `Qm…`.
//! - [`CidVersion::V1`] is `ipfs add --cid-version 1`, which implies raw
//!   leaves: chunks are raw blocks, parents are the same UnixFS nodes,
//!   addressed as base32 `bafy…` (or `bafkrei…` for a file of one chunk).
//!
//! Everything streams: a file of any size is read once, in chunks, and at
//! most one chunk plus one pending node per tree level is held in memory.
//!
//! ```
//! use aether_sdk::content_id::{cid_of_reader, sha256_hex_of_reader, CidVersion};
//!
//! let file = b"hello world\n";
//! let v0 = cid_of_reader(&file[..], CidVersion::V0).unwrap();
//! assert_eq!(v0.to_string(), "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
//! let v1 = cid_of_reader(&file[..], CidVersion::V1).unwrap();
//! assert!(v1.to_string().starts_with("bafkrei"));
//! let sha = sha256_hex_of_reader(&file[..]).unwrap();
//! assert_eq!(sha.len(), 64);
//! ```

use std::fmt;
use std::io::Read;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// kubo's default chunk size (`size-262144`).
pub const CHUNK_SIZE: usize = 256 * 1024;
/// kubo's default maximum number of links per node of a balanced DAG.
pub const MAX_LINKS: usize = 174;

const CODEC_RAW: u8 = 0x55;
const CODEC_DAG_PB: u8 = 0x70;
const MULTIHASH_SHA2_256: u8 = 0x12;
const UNIXFS_FILE: u64 = 2;

/// Which CID kubo would print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CidVersion {
    /// `ipfs add` (the default): UnixFS leaves, base58btc.
    V0,
    /// `ipfs add --cid-version 1`: raw leaves, base32.
    V1,
}

/// A content id: a CIDv0 or CIDv1 with a sha2-256 multihash.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cid {
    version: CidVersion,
    /// `dag-pb` (0x70) or `raw` (0x55); v0 is always `dag-pb`.
    codec: u8,
    digest: [u8; 32],
}

/// Why a string is not a CID this crate understands.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CidError {
    /// Not base58 `Qm…` nor base32 `b…`.
    #[error("not a CID: {0}")]
    Encoding(String),
    /// A CID version, codec or hash function other than v0/v1, dag-pb/raw, sha2-256.
    #[error("unsupported CID: {0}")]
    Unsupported(String),
}

impl Cid {
    /// The CID version.
    pub fn version(&self) -> CidVersion {
        self.version
    }

    /// True when the block is raw bytes rather than a dag-pb node.
    pub fn is_raw(&self) -> bool {
        self.codec == CODEC_RAW
    }

    /// The sha2-256 digest of the block this CID names.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The binary form of the CID (what a dag-pb link holds).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(36);
        if self.version == CidVersion::V1 {
            out.extend_from_slice(&[0x01, self.codec]);
        }
        out.extend_from_slice(&[MULTIHASH_SHA2_256, 32]);
        out.extend_from_slice(&self.digest);
        out
    }

    fn of_block(version: CidVersion, codec: u8, block_digest: [u8; 32]) -> Self {
        Cid {
            version,
            codec,
            digest: block_digest,
        }
    }
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            CidVersion::V0 => f.write_str(&bs58::encode(self.to_bytes()).into_string()),
            CidVersion::V1 => {
                let base32 = data_encoding::BASE32_NOPAD
                    .encode(&self.to_bytes())
                    .to_ascii_lowercase();
                write!(f, "b{base32}")
            }
        }
    }
}

impl fmt::Debug for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cid({self})")
    }
}

impl FromStr for Cid {
    type Err = CidError;

    fn from_str(s: &str) -> Result<Self, CidError> {
        let bad = || CidError::Encoding(s.to_string());
        if s.len() == 46 && s.starts_with("Qm") {
            let bytes = bs58::decode(s).into_vec().map_err(|_| bad())?;
            let digest = match bytes.as_slice() {
                [MULTIHASH_SHA2_256, 32, digest @ ..] if digest.len() == 32 => digest,
                _ => return Err(bad()),
            };
            return Ok(Cid::of_block(
                CidVersion::V0,
                CODEC_DAG_PB,
                digest.try_into().expect("32 bytes"),
            ));
        }
        let body = s.strip_prefix('b').ok_or_else(bad)?;
        if body.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad());
        }
        let bytes = data_encoding::BASE32_NOPAD
            .decode(body.to_ascii_uppercase().as_bytes())
            .map_err(|_| bad())?;
        match bytes.as_slice() {
            [0x01, codec @ (CODEC_RAW | CODEC_DAG_PB), MULTIHASH_SHA2_256, 32, digest @ ..]
                if digest.len() == 32 =>
            {
                Ok(Cid::of_block(
                    CidVersion::V1,
                    *codec,
                    digest.try_into().expect("32 bytes"),
                ))
            }
            _ => Err(CidError::Unsupported(s.to_string())),
        }
    }
}

impl serde::Serialize for Cid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Cid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

// --- protobuf, just the few fields dag-pb and UnixFS need ---

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes_field(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    out.push(field << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_varint_field(out: &mut Vec<u8>, field: u8, v: u64) {
    out.push(field << 3);
    put_varint(out, v);
}

/// One child of a parent node: its CID, the bytes of the file under it,
/// and the size of its whole subtree as encoded blocks (dag-pb `Tsize`).
#[derive(Clone)]
struct Child {
    cid: Cid,
    file_size: u64,
    tree_size: u64,
}

/// The UnixFS `Data` of a leaf that carries `len` bytes, up to (not
/// including) the bytes themselves; the caller hashes the chunk after it.
fn leaf_prefix(len: usize) -> Vec<u8> {
    // UnixFS Data { Type: File, Data: chunk, filesize: len } ...
    let mut data_head = Vec::with_capacity(16);
    put_varint_field(&mut data_head, 1, UNIXFS_FILE);
    if len > 0 {
        data_head.push(2 << 3 | 2);
        put_varint(&mut data_head, len as u64);
    }
    let mut data_tail = Vec::with_capacity(8);
    put_varint_field(&mut data_tail, 3, len as u64);
    let data_len = data_head.len() + len + data_tail.len();
    // ... inside PBNode { Data } with no links.
    let mut prefix = Vec::with_capacity(24);
    prefix.push(1 << 3 | 2);
    put_varint(&mut prefix, data_len as u64);
    prefix.extend_from_slice(&data_head);
    prefix
}

fn leaf_suffix(len: usize) -> Vec<u8> {
    let mut tail = Vec::with_capacity(8);
    put_varint_field(&mut tail, 3, len as u64);
    tail
}

fn parent_block(children: &[Child]) -> (Vec<u8>, u64) {
    let file_size: u64 = children.iter().map(|c| c.file_size).sum();
    let mut unixfs = Vec::with_capacity(8 + children.len() * 4);
    put_varint_field(&mut unixfs, 1, UNIXFS_FILE);
    put_varint_field(&mut unixfs, 3, file_size);
    for child in children {
        put_varint_field(&mut unixfs, 4, child.file_size);
    }
    // dag-pb's canonical form: every link, then the data.
    let mut block = Vec::with_capacity(children.len() * 48 + unixfs.len() + 8);
    for child in children {
        let mut link = Vec::with_capacity(48);
        put_bytes_field(&mut link, 1, &child.cid.to_bytes());
        put_bytes_field(&mut link, 2, b"");
        put_varint_field(&mut link, 3, child.tree_size);
        put_bytes_field(&mut block, 2, &link);
    }
    put_bytes_field(&mut block, 1, &unixfs);
    (block, file_size)
}

/// Builds a kubo-compatible CID from bytes pushed in any pieces.
///
/// ```
/// use aether_sdk::content_id::{CidBuilder, CidVersion};
///
/// let mut builder = CidBuilder::new(CidVersion::V0);
/// builder.update(b"hello ");
/// builder.update(b"world\n");
/// assert_eq!(
///     builder.finish().to_string(),
///     "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
/// );
/// ```
pub struct CidBuilder {
    version: CidVersion,
    chunk: Vec<u8>,
    /// `levels[0]` holds leaves not yet under a parent, `levels[1]` their
    /// parents, and so on; a level is folded into one parent when full.
    levels: Vec<Vec<Child>>,
    total: u64,
}

impl CidBuilder {
    /// A builder for the given CID version.
    pub fn new(version: CidVersion) -> Self {
        CidBuilder {
            version,
            chunk: Vec::with_capacity(CHUNK_SIZE),
            levels: vec![Vec::new()],
            total: 0,
        }
    }

    /// Bytes of the file pushed so far.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// True before any byte was pushed.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Pushes the next bytes of the file.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        while !bytes.is_empty() {
            let room = CHUNK_SIZE - self.chunk.len();
            if self.chunk.is_empty() && bytes.len() >= CHUNK_SIZE {
                // Whole chunks straight from the caller's buffer.
                let (whole, rest) = bytes.split_at(CHUNK_SIZE);
                self.push_leaf(whole);
                bytes = rest;
                continue;
            }
            let take = room.min(bytes.len());
            self.chunk.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.chunk.len() == CHUNK_SIZE {
                let chunk = std::mem::take(&mut self.chunk);
                self.push_leaf(&chunk);
                self.chunk = chunk;
                self.chunk.clear();
            }
        }
    }

    fn push_leaf(&mut self, chunk: &[u8]) {
        let child = match self.version {
            CidVersion::V1 => Child {
                cid: Cid::of_block(CidVersion::V1, CODEC_RAW, Sha256::digest(chunk).into()),
                file_size: chunk.len() as u64,
                tree_size: chunk.len() as u64,
            },
            CidVersion::V0 => {
                let prefix = leaf_prefix(chunk.len());
                let suffix = leaf_suffix(chunk.len());
                let mut hasher = Sha256::new();
                hasher.update(&prefix);
                hasher.update(chunk);
                hasher.update(&suffix);
                Child {
                    cid: Cid::of_block(CidVersion::V0, CODEC_DAG_PB, hasher.finalize().into()),
                    file_size: chunk.len() as u64,
                    tree_size: (prefix.len() + chunk.len() + suffix.len()) as u64,
                }
            }
        };
        self.push_child(0, child);
    }

    fn parent(&self, children: &[Child]) -> Child {
        let (block, file_size) = parent_block(children);
        let links: u64 = children.iter().map(|c| c.tree_size).sum();
        Child {
            cid: Cid::of_block(self.version, CODEC_DAG_PB, Sha256::digest(&block).into()),
            file_size,
            tree_size: block.len() as u64 + links,
        }
    }

    fn push_child(&mut self, level: usize, child: Child) {
        if self.levels.len() == level {
            self.levels.push(Vec::new());
        }
        self.levels[level].push(child);
        if self.levels[level].len() == MAX_LINKS {
            let full = std::mem::take(&mut self.levels[level]);
            let parent = self.parent(&full);
            self.push_child(level + 1, parent);
        }
    }

    /// The CID of everything pushed.
    pub fn finish(mut self) -> Cid {
        if !self.chunk.is_empty() || self.total == 0 {
            let chunk = std::mem::take(&mut self.chunk);
            self.push_leaf(&chunk);
        }
        let mut level = 0;
        loop {
            let higher_pending = self.levels[level + 1..].iter().any(|l| !l.is_empty());
            let pending = std::mem::take(&mut self.levels[level]);
            match pending.len() {
                0 => {}
                // A lone node with nothing above it is the root: a file of
                // one chunk is that chunk's block itself.
                1 if !higher_pending => return pending[0].cid,
                _ => {
                    let parent = self.parent(&pending);
                    if !higher_pending {
                        return parent.cid;
                    }
                    self.push_child(level + 1, parent);
                }
            }
            level += 1;
        }
    }
}

/// The CID kubo would give the bytes read from `reader`.
pub fn cid_of_reader(mut reader: impl Read, version: CidVersion) -> std::io::Result<Cid> {
    let mut builder = CidBuilder::new(version);
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(builder.finish());
        }
        builder.update(&buf[..n]);
    }
}

/// The CID kubo would give `bytes`.
pub fn cid_of_bytes(bytes: &[u8], version: CidVersion) -> Cid {
    let mut builder = CidBuilder::new(version);
    builder.update(bytes);
    builder.finish()
}

/// The sha256 of `bytes` as 64 lowercase hex digits: the item hash of a
/// message's inline content, and the storage engine's file id.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The sha256 hex digest of everything read from `reader`, streamed.
pub fn sha256_hex_of_reader(mut reader: impl Read) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_prints() {
        for version in [CidVersion::V0, CidVersion::V1] {
            for size in [0usize, 5, CHUNK_SIZE + 1] {
                let cid = cid_of_bytes(&vec![7u8; size], version);
                let parsed: Cid = cid.to_string().parse().unwrap();
                assert_eq!(parsed, cid);
            }
        }
    }

    #[test]
    fn refuses_what_is_not_a_cid() {
        for bad in [
            "",
            "Qm",
            "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5O0",
            "bafkreiHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQUVYKU",
            "zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA",
            "not a cid",
        ] {
            assert!(bad.parse::<Cid>().is_err(), "{bad}");
        }
        // A valid base32 CIDv1 with an unsupported codec (dag-cbor, 0x71).
        let mut bytes = vec![0x01, 0x71, 0x12, 32];
        bytes.extend([0u8; 32]);
        let s = format!(
            "b{}",
            data_encoding::BASE32_NOPAD
                .encode(&bytes)
                .to_ascii_lowercase()
        );
        assert!(matches!(s.parse::<Cid>(), Err(CidError::Unsupported(_))));
    }

    #[test]
    fn pieces_of_any_size_give_one_cid() {
        let data: Vec<u8> = (0..(3 * CHUNK_SIZE + 99))
            .map(|i| (i % 253) as u8)
            .collect();
        for version in [CidVersion::V0, CidVersion::V1] {
            let whole = cid_of_bytes(&data, version);
            for piece in [1usize, 1000, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE * 2 + 5] {
                let mut builder = CidBuilder::new(version);
                for part in data.chunks(piece) {
                    builder.update(part);
                }
                assert_eq!(builder.finish(), whole, "{version:?} piece {piece}");
            }
        }
    }
}
