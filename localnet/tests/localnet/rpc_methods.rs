//! The read and write methods clients rely on, each asked something whose
//! answer we know.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anchor_lang::prelude::Pubkey;
use anchor_spl::token::spl_token;
use serde_json::{json, Value};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_rpc_client_api::request::TokenAccountsFilter;
use solana_signer::Signer;
use solana_transaction::Transaction;

use super::common::*;

async fn rpc_call(url: &str, method: &str, params: Value) -> Value {
    reqwest::Client::new()
        .post(url)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_methods_answer_what_clients_expect() {
    let (a, b) = (Keypair::new(), Keypair::new());
    let localnet = start(None, vec![a.pubkey(), b.pubkey()]).await;
    let report = aether_localnet::bootstrap(localnet.config(), &localnet.key_dir())
        .await
        .unwrap();
    let mint: Pubkey = report.stake_mint.parse().unwrap();
    let url = localnet.rpc_url();
    let rpc = RpcClient::new_with_commitment(url.clone(), CommitmentConfig::confirmed());

    // Cluster facts.
    assert_ne!(rpc.get_genesis_hash().await.unwrap(), Default::default());
    let slot = rpc.get_slot().await.unwrap();
    assert!(slot > 0);
    assert!(rpc.get_block_height().await.unwrap() > 0);
    assert!(rpc.get_epoch_info().await.unwrap().absolute_slot >= slot);
    assert!(
        rpc.get_minimum_balance_for_rent_exemption(165)
            .await
            .unwrap()
            > 0
    );

    // Slots move on the timer, and the clock follows wall time.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert!(
        rpc.get_slot().await.unwrap() >= slot + 5,
        "100 ms slots advance"
    );
    let clock = rpc
        .get_account_data(
            &"SysvarC1ock11111111111111111111111111111111"
                .parse()
                .unwrap(),
        )
        .await
        .unwrap();
    let unix = i64::from_le_bytes(clock[32..40].try_into().unwrap());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((unix - now).abs() <= 5, "clock {unix} vs wall {now}");

    // Blockhashes and fees.
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    assert!(rpc
        .is_blockhash_valid(&blockhash, CommitmentConfig::confirmed())
        .await
        .unwrap());
    let to = Pubkey::new_unique();
    let ix = anchor_lang::solana_program::system_instruction::transfer(&a.pubkey(), &to, 5_000_000);
    let tx = Transaction::new_signed_with_payer(&[ix], Some(&a.pubkey()), &[&a], blockhash);
    assert_eq!(rpc.get_fee_for_message(&tx.message).await.unwrap(), 5_000);

    // Simulation: a good transfer passes, an overdraft fails, neither commits.
    let sim = rpc.simulate_transaction(&tx).await.unwrap().value;
    assert!(sim.err.is_none(), "{:?}", sim.err);
    let over =
        anchor_lang::solana_program::system_instruction::transfer(&a.pubkey(), &to, u64::MAX / 2);
    let bad = Transaction::new_signed_with_payer(&[over], Some(&a.pubkey()), &[&a], blockhash);
    assert!(rpc
        .simulate_transaction(&bad)
        .await
        .unwrap()
        .value
        .err
        .is_some());
    assert_eq!(rpc.get_balance(&to).await.unwrap(), 0);

    // History: three transfers from a, read back newest first with paging.
    let mut sent = Vec::new();
    for lamports in [5_000_000, 6_000_000, 7_000_000] {
        let ix =
            anchor_lang::solana_program::system_instruction::transfer(&a.pubkey(), &to, lamports);
        let tx = Transaction::new_signed_with_payer(
            &[ix],
            Some(&a.pubkey()),
            &[&a],
            rpc.get_latest_blockhash().await.unwrap(),
        );
        sent.push(rpc.send_and_confirm_transaction(&tx).await.unwrap());
    }
    let page = rpc
        .get_signatures_for_address_with_config(
            &a.pubkey(),
            GetConfirmedSignaturesForAddress2Config {
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let page: Vec<String> = page.into_iter().map(|s| s.signature).collect();
    assert_eq!(page, [sent[2].to_string(), sent[1].to_string()]);
    let older = rpc
        .get_signatures_for_address_with_config(
            &a.pubkey(),
            GetConfirmedSignaturesForAddress2Config {
                before: Some(sent[1]),
                until: Some(sent[0]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        older.is_empty(),
        "nothing between the first and the second: {older:?}"
    );

    // Accounts, several at once.
    let many = rpc
        .get_multiple_accounts(&[a.pubkey(), to, Pubkey::new_unique()])
        .await
        .unwrap();
    assert!(many[0].is_some() && many[1].is_some() && many[2].is_none());
    assert_eq!(many[1].as_ref().unwrap().lamports, 18_000_000);

    // Token accounts of the stake mint, by program with filters and by owner.
    let config = RpcProgramAccountsConfig {
        filters: Some(vec![
            RpcFilterType::DataSize(165),
            RpcFilterType::Memcmp(Memcmp::new_base58_encoded(0, mint.as_ref())),
        ]),
        account_config: RpcAccountInfoConfig::default(),
        with_context: None,
        sort_results: None,
    };
    let mut found: Vec<String> = rpc
        .get_program_ui_accounts_with_config(&spl_token::ID, config)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k.to_string())
        .collect();
    let mut expected: Vec<String> = report
        .funded
        .iter()
        .map(|f| f.token_account.clone())
        .collect();
    // ...and the staking program's two vaults.
    expected.push(aether_sdk::programs::staking::stake_vault().to_string());
    expected.push(aether_sdk::programs::staking::reward_vault().to_string());
    found.sort();
    expected.sort();
    assert_eq!(found, expected);
    let by_owner = rpc
        .get_token_accounts_by_owner(&b.pubkey(), TokenAccountsFilter::Mint(mint))
        .await
        .unwrap();
    assert_eq!(by_owner.len(), 1);
    assert_eq!(by_owner[0].pubkey, report.funded[1].token_account);

    // jsonParsed token accounts, as wallets ask for them.
    let parsed = rpc_call(
        &url,
        "getProgramAccounts",
        json!([spl_token::ID.to_string(), {"encoding": "jsonParsed", "filters": [
            {"dataSize": 165}, {"memcmp": {"offset": 32, "bytes": a.pubkey().to_string()}}
        ]}]),
    )
    .await;
    let info = &parsed["result"][0]["account"]["data"]["parsed"]["info"];
    assert_eq!(info["mint"], mint.to_string(), "{parsed}");
    assert_eq!(info["owner"], a.pubkey().to_string());
    assert_eq!(
        info["tokenAmount"]["amount"],
        aether_localnet::FUND_TOKENS.to_string()
    );
    tokio::task::spawn_blocking(move || localnet.stop())
        .await
        .unwrap();
}
