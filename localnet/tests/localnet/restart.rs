//! A restart with the same ledger keeps balances, accounts, signatures and
//! the bootstrap and a clock moved ahead, and our programs still run.

use aether_sdk::programs::staking;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;

use super::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_the_ledger_keeps_everything() {
    let ledger = scratch("restart");
    let funder = Keypair::new();
    let bob = Keypair::new().pubkey();

    let localnet = start(Some(ledger.clone()), vec![funder.pubkey()]).await;
    let first = aether_localnet::bootstrap(localnet.config(), &localnet.key_dir())
        .await
        .unwrap();
    let rpc = RpcClient::new_with_commitment(localnet.rpc_url(), CommitmentConfig::confirmed());
    let transfer = anchor_lang::solana_program::system_instruction::transfer(
        &funder.pubkey(),
        &bob,
        2_000_000,
    );
    let tx = Transaction::new_signed_with_payer(
        &[transfer],
        Some(&funder.pubkey()),
        &[&funder],
        rpc.get_latest_blockhash().await.unwrap(),
    );
    let signature = rpc.send_and_confirm_transaction(&tx).await.unwrap();
    let funder_balance = rpc.get_balance(&funder.pubkey()).await.unwrap();
    // The clock moves a day ahead (as `aether up` does to close an epoch).
    let ahead = localnet.unix_timestamp().await.unwrap() + 86_400;
    localnet.time_travel(ahead).await.unwrap();
    // Completed slots are the ones a restart keeps.
    localnet.next_slot().await.unwrap();
    localnet.next_slot().await.unwrap();
    assert!(localnet.unix_timestamp().await.unwrap() >= ahead);
    let slot_before = rpc.get_slot().await.unwrap();
    tokio::task::spawn_blocking(move || localnet.stop())
        .await
        .unwrap();

    // Same ledger, another port.
    let localnet = start(Some(ledger.clone()), vec![]).await;
    // The clock stays ahead: it never goes back across a restart (read once
    // new slots have rebuilt the Clock sysvar).
    localnet.next_slot().await.unwrap();
    let clock = localnet.unix_timestamp().await.unwrap();
    assert!(
        clock >= ahead,
        "the clock went back from {ahead} to {clock}"
    );
    let rpc = RpcClient::new_with_commitment(localnet.rpc_url(), CommitmentConfig::confirmed());
    assert_eq!(rpc.get_balance(&bob).await.unwrap(), 2_000_000);
    assert_eq!(
        rpc.get_balance(&funder.pubkey()).await.unwrap(),
        funder_balance
    );
    // Known again once the restarted chain has confirmed a slot past it.
    let mut status = None;
    for _ in 0..50 {
        status = rpc
            .get_signature_statuses(&[signature])
            .await
            .unwrap()
            .value[0]
            .clone();
        if status.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(status.expect("signature known after restart").err.is_none());
    let tx = rpc
        .get_transaction(
            &signature,
            solana_transaction_status_client_types::UiTransactionEncoding::Base64,
        )
        .await
        .expect("getTransaction after restart");
    assert!(tx.transaction.meta.expect("meta").err.is_none());
    // It resumes from the last completed slot (the one being built when it
    // stopped is not kept), never from the start.
    let slot_after = rpc.get_slot().await.unwrap();
    assert!(
        slot_after + 1 >= slot_before,
        "slot went back from {slot_before} to {slot_after}"
    );
    // The bootstrap is found, not redone.
    let second = aether_localnet::bootstrap(localnet.config(), &localnet.key_dir())
        .await
        .unwrap();
    assert_eq!(first.stake_mint, second.stake_mint);
    assert_eq!(first.authority, second.authority);

    // The staking program is registered again: funding rewards goes through.
    let token_account = first.funded[0].token_account.parse().unwrap();
    let mint = first.stake_mint.parse().unwrap();
    let ix = staking::fund_rewards(funder.pubkey(), mint, token_account, 1_000);
    let tx = Transaction::new_signed_with_payer(
        &[ix],
        Some(&funder.pubkey()),
        &[&funder],
        rpc.get_latest_blockhash().await.unwrap(),
    );
    rpc.send_and_confirm_transaction(&tx)
        .await
        .expect("staking works after restart");
    let vault = rpc
        .get_token_account_balance(&staking::reward_vault())
        .await
        .unwrap();
    assert_eq!(vault.amount, "1000");
    tokio::task::spawn_blocking(move || localnet.stop())
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(ledger);
}
