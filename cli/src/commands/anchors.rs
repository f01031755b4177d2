//! `aether anchors`: the anchored batches, and checking a message against them.

use std::path::{Path, PathBuf};

use aether_anchors::merkle::{self, MerkleProof};
use aether_anchors::state::{AnchorsConfig, BatchLog, BatchWindow};
use aether_sdk::programs::anchors;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::chain::{hex, parse_hash32, Chain, ChainArgs};

#[derive(Debug, Args)]
pub struct AnchorsCmd {
    #[command(flatten)]
    pub chain: ChainArgs,
    #[command(subcommand)]
    pub action: AnchorsAction,
}

#[derive(Debug, Subcommand)]
pub enum AnchorsAction {
    /// Print who may anchor and a submitter's recent batches (or one, with
    /// --seq) as JSON
    Show {
        /// Whose batches (each submitter has its own log) [default: your key]
        #[arg(long)]
        submitter: Option<Pubkey>,
        #[arg(long)]
        seq: Option<u64>,
    },
    /// Check that a message is in an anchored batch, locally and on chain
    Verify {
        /// The message's item hash, as the message carries it
        #[arg(long)]
        item: String,
        /// A JSON file: a core node's /proof answer, or
        /// {"submitter": "<base58>", "seq": N, "index": N, "siblings": ["<64 hex>", ...]}
        #[arg(long)]
        proof: PathBuf,
    },
}

/// A proof as a core node serves it (`root` and `count` are its own view,
/// not trusted: the chain's are used).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofFile {
    /// Base58, as the node writes it.
    submitter: String,
    seq: u64,
    index: u32,
    siblings: Vec<String>,
    #[allow(dead_code)]
    root: Option<String>,
    #[allow(dead_code)]
    count: Option<u64>,
}

/// `submitter`'s batch log, checked to be its own.
fn read_log(chain: &Chain, submitter: &Pubkey) -> Result<BatchWindow> {
    let log = BatchLog::decode(&chain.raw_account(
        &anchors::log(submitter),
        &format!("{submitter}'s batch log"),
    )?)
    .context("decoding the batch log")?;
    anyhow::ensure!(
        log.submitter == *submitter,
        "the log at {submitter}'s address names another submitter"
    );
    Ok(log)
}

/// Who may anchor, and `submitter`'s recent batches (or batch `seq`).
fn show(chain: &Chain, submitter: Option<Pubkey>, seq: Option<u64>) -> Result<Value> {
    let submitter = submitter.unwrap_or_else(|| chain.pubkey());
    let log = read_log(chain, &submitter)?;
    let config: AnchorsConfig = chain.account(&anchors::config(), "anchors config")?;
    let mut entries: Vec<_> = log
        .entries
        .iter()
        .filter(|e| seq.is_none_or(|s| e.seq == s))
        .collect();
    entries.sort_by_key(|e| e.seq);
    Ok(json!({
        "authority": config.authority.to_string(),
        "allowlist": config.allowlist.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        "last_seq": config.last_seq,
        "submitter": submitter.to_string(),
        "submitter_last_seq": log.last_seq(),
        "batches": entries.iter().map(|e| json!({
            "seq": e.seq, "root": hex(&e.root), "count": e.count, "slot": e.slot, "time": e.time,
            "submitter": e.submitter.to_string(),
        })).collect::<Vec<_>>(),
    }))
}

/// The proof file at `path`, and the submitter it names.
fn read_proof(path: &Path) -> Result<(ProofFile, Pubkey)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: ProofFile =
        serde_json::from_str(&text).with_context(|| format!("in {}", path.display()))?;
    let submitter: Pubkey = file
        .submitter
        .parse()
        .map_err(|e| anyhow::anyhow!("the proof's submitter {}: {e}", file.submitter))?;
    Ok((file, submitter))
}

/// Checks `item` against the proof at `path`, locally and on chain.
fn verify(chain: &Chain, item: &str, path: &Path) -> Result<Value> {
    let (file, submitter) = read_proof(path)?;
    let seq = file.seq;
    let log = read_log(chain, &submitter)?;
    let proof = MerkleProof {
        index: file.index,
        siblings: file
            .siblings
            .iter()
            .map(|s| parse_hash32(s))
            .collect::<Result<_>>()?,
    };
    let entry = log.get(seq).with_context(|| {
        format!(
            "batch {seq} is not in {submitter}'s window (its last is {})",
            log.last_seq()
        )
    })?;
    let local = merkle::verify(
        &entry.root,
        entry.count,
        &merkle::leaf_hash(item.as_bytes()),
        &proof,
    );
    let on_chain = chain.simulate(&[anchors::verify_inclusion(
        &submitter,
        seq,
        item.as_bytes().to_vec(),
        proof,
    )])?;
    Ok(json!({
        "submitter": submitter.to_string(),
        "seq": seq,
        "item": item,
        "root": hex(&entry.root),
        "included": local && on_chain.is_none(),
        "local": local,
        "on_chain_error": on_chain,
    }))
}

impl AnchorsCmd {
    pub fn run(&self) -> Result<Value> {
        let chain = self.chain.connect()?;
        match &self.action {
            AnchorsAction::Show { submitter, seq } => show(&chain, *submitter, *seq),
            AnchorsAction::Verify { item, proof } => verify(&chain, item, proof),
        }
    }

    pub fn execute(self) -> Result<()> {
        let out = self.run()?;
        println!("{}", serde_json::to_string_pretty(&out)?);
        if out.get("included") == Some(&Value::Bool(false)) {
            anyhow::bail!("the item is not in batch {}", out["seq"]);
        }
        Ok(())
    }
}
