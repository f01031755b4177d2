//! Content ids against kubo's own: `vectors/kubo_cids.json` was produced by
//! `vectors/kubo_cids.mjs` with `ipfs-unixfs-importer` set to kubo's
//! defaults. Its first two entries are the CIDs kubo's documentation
//! publishes for an empty file and for `echo "hello world" | ipfs add`, which
//! is how we know the generator agrees with kubo.

use std::io::Write;

use aether_sdk::content_id::{cid_of_bytes, cid_of_reader, sha256_hex_of_reader, CidVersion};
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Deserialize)]
struct Vector {
    name: String,
    size: usize,
    cid_v0: String,
    cid_v1_raw: String,
}

/// The generator's bytes: `(i * 31 + (i >> 8)) & 255`.
fn generated(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + (i >> 8)) & 255) as u8).collect()
}

fn vectors() -> Vec<Vector> {
    serde_json::from_str(include_str!("vectors/kubo_cids.json")).unwrap()
}

fn bytes_of(v: &Vector) -> Vec<u8> {
    match v.name.as_str() {
        "empty" => Vec::new(),
        "hello world\\n" => b"hello world\n".to_vec(),
        _ => generated(v.size),
    }
}

#[test]
fn published_kubo_cids() {
    let all = vectors();
    assert_eq!(
        all[0].cid_v0,
        "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    );
    assert_eq!(
        all[1].cid_v0,
        "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
    );
    for v in &all {
        let bytes = bytes_of(v);
        assert_eq!(bytes.len(), v.size);
        assert_eq!(
            cid_of_bytes(&bytes, CidVersion::V0).to_string(),
            v.cid_v0,
            "{} v0",
            v.name
        );
        assert_eq!(
            cid_of_bytes(&bytes, CidVersion::V1).to_string(),
            v.cid_v1_raw,
            "{} v1",
            v.name
        );
    }
    // Sizes that matter to the DAG's shape are all covered.
    let sizes: Vec<usize> = all.iter().map(|v| v.size).collect();
    for edge in [
        0,
        262_143,
        262_144,
        262_145,
        174 * 262_144,
        174 * 262_144 + 1,
    ] {
        assert!(sizes.contains(&edge), "no vector for {edge} bytes");
    }
}

#[test]
fn files_stream_from_disk() {
    let v = vectors()
        .into_iter()
        .find(|v| v.size == 3 * 1_048_576 + 17)
        .unwrap();
    let bytes = bytes_of(&v);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&bytes).unwrap();
    let open = || std::fs::File::open(file.path()).unwrap();
    assert_eq!(
        cid_of_reader(open(), CidVersion::V0).unwrap().to_string(),
        v.cid_v0
    );
    assert_eq!(
        cid_of_reader(open(), CidVersion::V1).unwrap().to_string(),
        v.cid_v1_raw
    );
    assert_eq!(
        sha256_hex_of_reader(open()).unwrap(),
        hex::encode(Sha256::digest(&bytes))
    );
}
