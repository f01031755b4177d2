//! `cargo bench -p aether-sdk`: signatures verified per second for both
//! chains, and hashing throughput (sha256, CIDv0, CIDv1) in MB/s, on one
//! core. Figures of one run compare with each other; across machines,
//! compare ratios.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aether_sdk::content_id::{cid_of_bytes, CidVersion};
use aether_sdk::message::sign::{EthereumAccount, SolanaAccount};
use aether_sdk::message::{verify_batch, Message, MessageBuilder, PostBuilder};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Runs `f` (which does `per_call` units of work) for about `budget`, and
/// returns units per second.
fn rate(budget: Duration, per_call: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm up
    let start = Instant::now();
    let mut calls = 0usize;
    while start.elapsed() < budget {
        f();
        calls += 1;
    }
    (calls * per_call) as f64 / start.elapsed().as_secs_f64()
}

fn messages(n: usize, eth: bool) -> Vec<Message> {
    (0..n)
        .map(|i| {
            let post = PostBuilder::new("bench").content(json!({ "i": i }));
            if eth {
                MessageBuilder::new(&EthereumAccount::generate()).build(post)
            } else {
                MessageBuilder::new(&SolanaAccount::generate()).build(post)
            }
            .unwrap()
            .message
        })
        .collect()
}

fn main() {
    let budget = Duration::from_secs(2);
    println!("aether-sdk benchmark (one thread)");

    let sol = messages(256, false);
    let single = rate(budget, sol.len(), || {
        for m in &sol {
            black_box(m.verify()).unwrap();
        }
    });
    let batched = rate(budget, sol.len(), || {
        black_box(verify_batch(&sol));
    });
    // The signatures alone, without parsing and hashing the messages.
    let keys: Vec<ed25519_dalek::SigningKey> = (0..256u32)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&i.to_le_bytes());
            ed25519_dalek::SigningKey::from_bytes(&seed)
        })
        .collect();
    let buffers: Vec<Vec<u8>> = sol.iter().map(Message::verification_buffer).collect();
    let signatures: Vec<ed25519_dalek::Signature> = keys
        .iter()
        .zip(&buffers)
        .map(|(k, b)| ed25519_dalek::Signer::sign(k, b))
        .collect();
    let publics: Vec<ed25519_dalek::VerifyingKey> =
        keys.iter().map(|k| k.verifying_key()).collect();
    let refs: Vec<&[u8]> = buffers.iter().map(Vec::as_slice).collect();
    let raw_single = rate(budget, keys.len(), || {
        for ((k, b), s) in publics.iter().zip(&refs).zip(&signatures) {
            black_box(k.verify_strict(b, s)).unwrap();
        }
    });
    let raw_batch = rate(budget, keys.len(), || {
        black_box(ed25519_dalek::verify_batch(&refs, &signatures, &publics)).unwrap();
    });
    let eth = messages(64, true);
    let eth_rate = rate(budget, eth.len(), || {
        for m in &eth {
            black_box(m.verify()).unwrap();
        }
    });
    println!("  SOL messages verified (one by one): {single:>10.0} /s");
    println!(
        "  SOL messages verified (batch of {}): {batched:>9.0} /s  ({:.2}x)",
        sol.len(),
        batched / single
    );
    println!("  ed25519 signatures alone (one by one): {raw_single:>7.0} /s");
    println!("  ed25519 signatures alone (batch):      {raw_batch:>7.0} /s");
    println!("  ETH messages verified (recovery):   {eth_rate:>10.0} /s");

    let data: Vec<u8> = (0..64 * 1024 * 1024)
        .map(|i: usize| (i * 31) as u8)
        .collect();
    let mb = data.len() as f64 / 1e6;
    let sha = rate(budget, 1, || {
        black_box(Sha256::digest(&data));
    }) * mb;
    let v0 = rate(budget, 1, || {
        black_box(cid_of_bytes(&data, CidVersion::V0));
    }) * mb;
    let v1 = rate(budget, 1, || {
        black_box(cid_of_bytes(&data, CidVersion::V1));
    }) * mb;
    println!("  sha256:              {sha:>8.0} MB/s");
    println!(
        "  CIDv0 (ipfs add):    {v0:>8.0} MB/s  ({:.0}% of sha256)",
        100.0 * v0 / sha
    );
    println!(
        "  CIDv1 (raw leaves):  {v1:>8.0} MB/s  ({:.0}% of sha256)",
        100.0 * v1 / sha
    );
}
