//! Bad input gets the standard JSON-RPC errors, and the server keeps serving.

use serde_json::{json, Value};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;

use super::common::*;

async fn post(url: &str, body: &str) -> Value {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("HTTP answer")
        .json()
        .await
        .expect("JSON body")
}

fn code(v: &Value) -> i64 {
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no error in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_standard_errors() {
    let localnet = start(None, vec![]).await;
    let url = localnet.rpc_url();

    assert_eq!(code(&post(&url, "{not json").await), -32700, "parse error");
    let unknown = json!({"jsonrpc": "2.0", "id": 1, "method": "getNothing", "params": []});
    assert_eq!(
        code(&post(&url, &unknown.to_string()).await),
        -32601,
        "method not found"
    );
    let bad_b64 = json!({"jsonrpc": "2.0", "id": 2, "method": "sendTransaction",
        "params": ["%%%not base64%%%", {"encoding": "base64"}]});
    let answer = post(&url, &bad_b64.to_string()).await;
    assert!(answer["error"].is_object(), "bad base64 refused: {answer}");

    let rpc = RpcClient::new_with_commitment(url.clone(), CommitmentConfig::confirmed());
    let alice = Keypair::new();
    let sig = rpc
        .request_airdrop(&alice.pubkey(), 1_000_000_000)
        .await
        .unwrap();
    rpc.poll_for_signature(&sig).await.unwrap();
    let ix = anchor_lang::solana_program::system_instruction::transfer(
        &alice.pubkey(),
        &Keypair::new().pubkey(),
        1,
    );

    // A bad signature.
    let mut tx = Transaction::new_signed_with_payer(
        std::slice::from_ref(&ix),
        Some(&alice.pubkey()),
        &[&alice],
        rpc.get_latest_blockhash().await.unwrap(),
    );
    tx.signatures[0] = solana_transaction::Signature::from([7u8; 64]);
    assert!(
        rpc.send_transaction(&tx).await.is_err(),
        "bad signature refused"
    );
    // A blockhash the chain never produced.
    let tx = Transaction::new_signed_with_payer(
        &[ix],
        Some(&alice.pubkey()),
        &[&alice],
        // (any 32 bytes the chain never produced)
        "4uQeVj5tqViQh7yWWGStvkEG1Zmhx6uasJtWCJziofM"
            .parse()
            .unwrap(),
    );
    assert!(
        rpc.send_transaction(&tx).await.is_err(),
        "unknown blockhash refused"
    );

    // Nothing moved, and the server still answers.
    assert_eq!(
        rpc.get_balance(&alice.pubkey()).await.unwrap(),
        1_000_000_000
    );
    rpc.get_health().await.expect("still healthy");
    tokio::task::spawn_blocking(move || localnet.stop())
        .await
        .unwrap();
}
