//! Stock clients do their everyday work: airdrop, transfer, tokens, an
//! Anchor instruction through anchor-client, its event read back from
//! `getTransaction`, and `logsSubscribe` seeing it live.

use std::sync::Arc;
use std::time::Duration;

use aether_sdk::programs::staking;
use aether_staking::events::{NodeCreated, Staked};
use anchor_client::{Client, Cluster};
use anchor_lang::prelude::Pubkey;
use anchor_lang::Event;
use futures_util::StreamExt;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::{
    RpcTransactionConfig, RpcTransactionLogsConfig, RpcTransactionLogsFilter,
};
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_status_client_types::{
    option_serializer::OptionSerializer, UiInstruction, UiTransactionEncoding,
};

use super::common::*;

/// Decodes every `emit_cpi!` event of type `E` among a transaction's inner instructions.
async fn events_of<E: Event>(
    rpc: &RpcClient,
    signature: &solana_transaction::Signature,
    program: Pubkey,
) -> Vec<E> {
    let tx = rpc
        .get_transaction_with_config(
            signature,
            RpcTransactionConfig {
                encoding: Some(UiTransactionEncoding::Json),
                commitment: Some(CommitmentConfig::confirmed()),
                max_supported_transaction_version: Some(0),
            },
        )
        .await
        .expect("getTransaction");
    let meta = tx.transaction.meta.expect("meta");
    // Logs and balances are there, as clients expect.
    let OptionSerializer::Some(logs) = &meta.log_messages else {
        panic!("no logMessages")
    };
    assert!(
        logs.iter()
            .any(|l| l == &format!("Program {program} invoke [1]")),
        "{logs:?}"
    );
    assert_eq!(meta.pre_balances.len(), meta.post_balances.len());
    let keys = match tx.transaction.transaction {
        solana_transaction_status_client_types::EncodedTransaction::Json(ui) => match ui.message {
            solana_transaction_status_client_types::UiMessage::Raw(raw) => raw.account_keys,
            _ => panic!("raw message expected"),
        },
        _ => panic!("json transaction expected"),
    };
    let OptionSerializer::Some(inner) = meta.inner_instructions else {
        panic!("no inner instructions in meta")
    };
    let mut out = Vec::new();
    for group in inner {
        for ix in group.instructions {
            let UiInstruction::Compiled(ix) = ix else {
                continue;
            };
            if keys[ix.program_id_index as usize] != program.to_string() {
                continue;
            }
            // Inner instruction data is base58 in the JSON encoding.
            let data = bs58::decode(&ix.data).into_vec().expect("base58");
            let Some(body) = data.strip_prefix(anchor_lang::event::EVENT_IX_TAG_LE) else {
                continue;
            };
            let Some(body) = body.strip_prefix(E::DISCRIMINATOR) else {
                continue;
            };
            out.push(E::deserialize(&mut &body[..]).expect("event decodes"));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_clients_work_against_the_localnet() {
    let operator = Keypair::new();
    let localnet = start(None, vec![operator.pubkey()]).await;
    let report = aether_localnet::bootstrap(localnet.config(), &localnet.key_dir())
        .await
        .expect("bootstrap");
    let rpc = RpcClient::new_with_commitment(localnet.rpc_url(), CommitmentConfig::confirmed());
    rpc.get_health().await.expect("getHealth");
    assert!(!rpc.get_version().await.unwrap().solana_core.is_empty());

    // Bootstrap funded the operator with SOL and stake tokens.
    let mint: Pubkey = report.stake_mint.parse().unwrap();
    assert_eq!(report.funded.len(), 1);
    assert_eq!(
        rpc.get_balance(&operator.pubkey()).await.unwrap(),
        aether_localnet::FUND_LAMPORTS
    );
    let token_account: Pubkey = report.funded[0].token_account.parse().unwrap();
    let balance = rpc.get_token_account_balance(&token_account).await.unwrap();
    assert_eq!(balance.amount, aether_localnet::FUND_TOKENS.to_string());
    let config: aether_staking::state::Config = anchor_lang::AccountDeserialize::try_deserialize(
        &mut rpc
            .get_account_data(&staking::config())
            .await
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    assert_eq!(config.stake_mint, mint);
    // Each program's ProgramData names the bootstrap authority as upgrade
    // authority, the only key its initialize accepts.
    let authority: Pubkey = report.authority.parse().unwrap();
    assert_eq!(config.authority, authority);
    for program in aether_native_programs::PROGRAMS {
        let data = rpc
            .get_account(&aether_sdk::programs::program_data(&program.id))
            .await
            .unwrap();
        assert_eq!(
            data.owner,
            anchor_lang::solana_program::bpf_loader_upgradeable::ID
        );
        let state: anchor_lang::prelude::ProgramData =
            anchor_lang::AccountDeserialize::try_deserialize(&mut data.data.as_slice()).unwrap();
        assert_eq!(
            state.upgrade_authority_address,
            Some(authority),
            "{}",
            program.name
        );
    }

    // Airdrop and a plain SOL transfer, watched over pubsub: the slot, the
    // signature and the receiving account.
    let alice = Keypair::new();
    let bob = Pubkey::new_unique();
    let sig = rpc
        .request_airdrop(&alice.pubkey(), 5_000_000_000)
        .await
        .unwrap();
    rpc.poll_for_signature(&sig).await.unwrap();
    let transfer =
        anchor_lang::solana_program::system_instruction::transfer(&alice.pubkey(), &bob, 1_234_567);
    let blockhash = rpc.get_latest_blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(
        &[transfer],
        Some(&alice.pubkey()),
        &[&alice],
        blockhash,
    );
    let watch = PubsubClient::new(&localnet.ws_url())
        .await
        .expect("pubsub connects");
    let (mut slots, _u1) = watch.slot_subscribe().await.expect("slotSubscribe");
    let (mut sig_notes, _u2) = watch
        .signature_subscribe(&tx.signatures[0], None)
        .await
        .expect("signatureSubscribe");
    let (mut bob_notes, _u3) = watch
        .account_subscribe(&bob, None)
        .await
        .expect("accountSubscribe");
    let within = Duration::from_secs(10);
    let slot = tokio::time::timeout(within, slots.next())
        .await
        .expect("a slot notification")
        .unwrap();
    assert!(slot.slot > 0);

    rpc.send_and_confirm_transaction(&tx).await.unwrap();
    assert_eq!(rpc.get_balance(&bob).await.unwrap(), 1_234_567);
    let note = tokio::time::timeout(within, sig_notes.next())
        .await
        .expect("a signature notification")
        .unwrap();
    assert!(matches!(
        note.value,
        solana_rpc_client_api::response::RpcSignatureResult::ProcessedSignature(ref r) if r.err.is_none()
    ));
    let account = tokio::time::timeout(within, bob_notes.next())
        .await
        .expect("an account notification")
        .unwrap();
    assert_eq!(account.value.lamports, 1_234_567);

    // Live logs of the staking program, subscribed before the call.
    let pubsub = PubsubClient::new(&localnet.ws_url())
        .await
        .expect("pubsub connects");
    let (mut logs, _unsubscribe) = pubsub
        .logs_subscribe(
            RpcTransactionLogsFilter::Mentions(vec![aether_staking::ID.to_string()]),
            RpcTransactionLogsConfig {
                commitment: Some(CommitmentConfig::confirmed()),
            },
        )
        .await
        .expect("logsSubscribe");

    // An Anchor instruction through anchor-client (blocking: its own thread).
    let url = localnet.rpc_url();
    let ws = localnet.ws_url();
    let op = operator.insecure_clone();
    let signature = std::thread::spawn(move || {
        let payer = Arc::new(op.insecure_clone());
        let client = Client::new_with_options(
            Cluster::Custom(url, ws),
            payer,
            CommitmentConfig::confirmed(),
        );
        let program = client.program(aether_staking::ID).unwrap();
        let ix = staking::create_node(
            op.pubkey(),
            mint,
            token_account,
            Default::default(),
            200_000_000_000,
        );
        let signature = program
            .request()
            // The payer is the operator: it signs once.
            .instruction(ix)
            .send()
            .expect("create_node through anchor-client");
        signature
    })
    .join()
    .unwrap();

    // The CPIs happened: the node exists and holds the stake in the vault.
    let node: aether_staking::state::Node = anchor_lang::AccountDeserialize::try_deserialize(
        &mut rpc
            .get_account_data(&staking::node(&operator.pubkey()))
            .await
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    assert_eq!(node.total_stake, 200_000_000_000);
    let vault = rpc
        .get_token_account_balance(&staking::stake_vault())
        .await
        .unwrap();
    assert_eq!(vault.amount, "200000000000");

    // Its event, decoded from getTransaction's inner instructions.
    let created: Vec<NodeCreated> = events_of(&rpc, &signature, aether_staking::ID).await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].operator, operator.pubkey());
    assert_eq!(created[0].stake, 200_000_000_000);
    assert!(events_of::<Staked>(&rpc, &signature, aether_staking::ID)
        .await
        .is_empty());

    // The subscription saw it.
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let note = logs.next().await.expect("stream open");
            if note.value.signature == signature.to_string() {
                return note.value;
            }
        }
    })
    .await
    .expect("logsSubscribe notification within 10 s");
    assert!(seen.err.is_none());
    localnet.stop();
}
