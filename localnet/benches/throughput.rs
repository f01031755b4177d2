//! Localnet figures: time from start to the first answered `getHealth`, and
//! transactions per second for SOL transfers and for one staking instruction,
//! sent concurrently through `RpcClient`. Compare figures from one run; these
//! machines are shared and noisy.
//!
//! `cargo bench -p aether-localnet` (AETHER_BENCH_TXS sets the count, default 2000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aether_localnet::{Config, Localnet};
use aether_sdk::programs::staking;
use anchor_lang::prelude::Pubkey;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::{Signature, Transaction};

const CONCURRENCY: usize = 16;
const SENDERS: usize = 8;

async fn start(fund: Vec<Pubkey>) -> (Localnet, Duration) {
    let config = Config {
        rpc_port: aether_localnet::free_port_pair().expect("a free port pair on loopback"),
        bootstrap: true,
        fund,
        ..Config::default()
    };
    let began = Instant::now();
    let localnet = Localnet::start(config).await.expect("localnet starts");
    let rpc = RpcClient::new(localnet.rpc_url());
    while rpc.get_health().await.is_err() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (localnet, began.elapsed())
}

/// Sends every transaction with `CONCURRENCY` tasks, then waits until all are
/// confirmed; returns transactions per second over the whole.
async fn throughput(rpc: Arc<RpcClient>, txs: Vec<Transaction>) -> f64 {
    let n = txs.len();
    let began = Instant::now();
    let chunks: Vec<Vec<Transaction>> = txs
        .chunks(n.div_ceil(CONCURRENCY))
        .map(|c| c.to_vec())
        .collect();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let rpc = rpc.clone();
        tasks.push(tokio::spawn(async move {
            let mut sigs = Vec::new();
            for tx in chunk {
                sigs.push(rpc.send_transaction(&tx).await.expect("sendTransaction"));
            }
            sigs
        }));
    }
    let mut signatures: Vec<Signature> = Vec::new();
    for t in tasks {
        signatures.extend(t.await.unwrap());
    }
    for batch in signatures.chunks(256) {
        loop {
            let statuses = rpc.get_signature_statuses(batch).await.unwrap().value;
            if statuses
                .iter()
                .all(|s| s.as_ref().is_some_and(|s| s.err.is_none()))
            {
                break;
            }
            assert!(
                statuses
                    .iter()
                    .all(|s| s.as_ref().is_none_or(|s| s.err.is_none())),
                "a transaction failed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    n as f64 / began.elapsed().as_secs_f64()
}

fn main() {
    let n: usize = std::env::var("AETHER_BENCH_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Start time, three cold-ish starts (the first also sets up the runtime stubs).
        let mut starts = Vec::new();
        for _ in 0..3 {
            let (localnet, took) = start(Vec::new()).await;
            starts.push(took);
            tokio::task::spawn_blocking(move || localnet.stop()).await.unwrap();
        }
        starts.sort();
        println!("start to first getHealth: median {:?} (of {:?})", starts[1], starts);

        let senders: Vec<Keypair> = (0..SENDERS).map(|_| Keypair::new()).collect();
        let (localnet, _) = start(senders.iter().map(|k| k.pubkey()).collect()).await;
        let report = aether_localnet::bootstrap(localnet.config(), &localnet.key_dir()).await.unwrap();
        let mint: Pubkey = report.stake_mint.parse().unwrap();
        let rpc = Arc::new(RpcClient::new_with_commitment(localnet.rpc_url(), CommitmentConfig::confirmed()));
        let blockhash = rpc.get_latest_blockhash().await.unwrap();

        let to = Pubkey::new_unique();
        let transfers: Vec<Transaction> = (0..n)
            .map(|i| {
                let from = &senders[i % SENDERS];
                // Distinct amounts keep every signature distinct.
                let ix = anchor_lang::solana_program::system_instruction::transfer(&from.pubkey(), &to, 1_000_000 + i as u64);
                Transaction::new_signed_with_payer(&[ix], Some(&from.pubkey()), &[from], blockhash)
            })
            .collect();
        let tps = throughput(rpc.clone(), transfers).await;
        println!("SOL transfers: {n} in all, {CONCURRENCY} concurrent senders: {tps:.0} tx/s");

        let blockhash = rpc.get_latest_blockhash().await.unwrap();
        let m = n / 4;
        let funds: Vec<Transaction> = (0..m)
            .map(|i| {
                let from = &senders[i % SENDERS];
                let tokens: Pubkey = report.funded[i % SENDERS].token_account.parse().unwrap();
                let ix = staking::fund_rewards(from.pubkey(), mint, tokens, 1 + i as u64);
                Transaction::new_signed_with_payer(&[ix], Some(&from.pubkey()), &[from], blockhash)
            })
            .collect();
        let tps = throughput(rpc.clone(), funds).await;
        println!("staking fund_rewards (2 CPIs each): {m} in all, {CONCURRENCY} concurrent senders: {tps:.0} tx/s");
        tokio::task::spawn_blocking(move || localnet.stop()).await.unwrap();
    });
}
