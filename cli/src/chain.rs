//! What every command that talks to the chain shares: the RPC URL, the
//! signing keypair, sending instructions and reading accounts.

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::AccountDeserialize;
use anyhow::{anyhow, Context, Result};
use clap::Args;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::{Signature, Transaction};

#[derive(Debug, Clone, Args)]
pub struct ChainArgs {
    /// JSON-RPC URL of the cluster
    #[arg(
        long,
        global = true,
        env = "AETHER_RPC_URL",
        default_value = "http://127.0.0.1:8899"
    )]
    pub url: String,
    /// Keypair file that signs and pays [default: ~/.config/solana/id.json]
    #[arg(long, global = true, env = "AETHER_KEYPAIR", value_name = "FILE")]
    pub keypair: Option<PathBuf>,
}

pub struct Chain {
    pub rpc: RpcClient,
    pub signer: Keypair,
}

impl ChainArgs {
    pub fn keypair_path(&self) -> PathBuf {
        self.keypair.clone().unwrap_or_else(default_keypair)
    }

    /// The signing keypair, read from its file.
    pub fn signer(&self) -> Result<Keypair> {
        let path = self.keypair_path();
        solana_keypair::read_keypair_file(&path)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("reading the keypair {} (set --keypair)", path.display()))
    }

    pub fn connect(&self) -> Result<Chain> {
        Ok(Chain {
            rpc: RpcClient::new_with_commitment(self.url.clone(), CommitmentConfig::confirmed()),
            signer: self.signer()?,
        })
    }

    /// The program client, signing and paying with the keypair.
    pub fn client(&self) -> Result<aether_sdk::programs::client::AetherClient> {
        Ok(aether_sdk::programs::client::AetherClient::new(
            &self.url,
            self.signer()?,
        ))
    }
}

/// The Solana CLI's default keypair: `~/.config/solana/id.json`.
pub fn default_keypair() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".config/solana/id.json")
}

impl Chain {
    pub fn pubkey(&self) -> Pubkey {
        self.signer.pubkey()
    }

    /// `ixs` in a transaction signed by the keypair, which pays.
    fn sign(&self, ixs: &[Instruction]) -> Result<Transaction> {
        let blockhash = self
            .rpc
            .get_latest_blockhash()
            .context("getLatestBlockhash")?;
        Ok(Transaction::new_signed_with_payer(
            ixs,
            Some(&self.signer.pubkey()),
            &[&self.signer],
            blockhash,
        ))
    }

    /// Sends `ixs` and waits for confirmation.
    pub fn send(&self, ixs: &[Instruction]) -> Result<Signature> {
        self.rpc
            .send_and_confirm_transaction(&self.sign(ixs)?)
            .map_err(|e| anyhow!("the transaction failed: {e}"))
    }

    /// Runs `ixs` in a simulation only; `Ok(None)` when they would succeed.
    pub fn simulate(&self, ixs: &[Instruction]) -> Result<Option<String>> {
        let result = self
            .rpc
            .simulate_transaction(&self.sign(ixs)?)
            .context("simulateTransaction")?;
        Ok(result.value.err.map(|e| e.to_string()))
    }

    /// Reads an Anchor account of type `T`.
    pub fn account<T: AccountDeserialize>(&self, key: &Pubkey, what: &str) -> Result<T> {
        let data = self
            .rpc
            .get_account_data(key)
            .with_context(|| format!("reading the {what} at {key}"))?;
        T::try_deserialize(&mut data.as_slice())
            .with_context(|| format!("decoding the {what} at {key}"))
    }

    /// An account's data, for accounts read in place (the batch log).
    pub fn raw_account(&self, key: &Pubkey, what: &str) -> Result<Vec<u8>> {
        self.rpc
            .get_account_data(key)
            .with_context(|| format!("reading the {what} at {key}"))
    }
}

/// A 32-byte value from 64 hex characters (an item hash, a root).
pub fn parse_hash32(s: &str) -> Result<[u8; 32]> {
    let bytes = parse_hex(s)?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| anyhow!("expected 32 bytes (64 hex characters), got {}", b.len()))
}

pub fn parse_hex(s: &str) -> Result<Vec<u8>> {
    anyhow::ensure!(
        s.len().is_multiple_of(2),
        "hex needs an even number of characters"
    );
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).with_context(|| format!("not hex: {s}")))
        .collect()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_garbage() {
        let h = [0xab; 32];
        assert_eq!(parse_hash32(&hex(&h)).unwrap(), h);
        assert!(parse_hash32("abc").is_err());
        assert!(parse_hash32("zz").is_err());
        assert!(parse_hash32(&"00".repeat(31)).is_err());
    }
}
