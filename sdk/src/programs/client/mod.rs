//! [`AetherClient`]: Aether's programs through `anchor-client`, so that a
//! dApp stakes, opens a stream or reads a node in a few lines.
//!
//! anchor-client's client is blocking (it runs its own runtime): from async
//! code, call it from a thread of its own (`std::thread::spawn`).
//!
//! ```no_run
//! use aether_sdk::programs::client::AetherClient;
//! use aether_sdk::programs::escrow::{OpenStreamArgs, ServePolicy, StreamKind};
//!
//! let payer = solana_keypair::read_keypair_file("id.json").unwrap();
//! let client = AetherClient::new("http://127.0.0.1:8899", payer);
//! let operator: anchor_lang::prelude::Pubkey = "11111111111111111111111111111111".parse().unwrap();
//! client.stake(&operator, 1_000_000).unwrap();
//! let node = client.staking_node(&operator).unwrap().expect("a node");
//! println!("stake on the node: {}", node.total_stake);
//! client
//!     .open_stream(OpenStreamArgs {
//!         resource: [7; 32],
//!         kind: StreamKind::Compute,
//!         max_rate_per_second: 10,
//!         replicas: 2,
//!         deposit: 1_000_000,
//!         serve: ServePolicy::MinScore(0),
//!         allowed: Vec::new(),
//!         size_bytes: 0,
//!     })
//!     .unwrap();
//! ```
//!
//! The calls are grouped by what they touch: `reads` (accounts of every
//! program), `tokens`, `registration` (the registry), `stakes` (the
//! staking program) and `streams` (the escrow program).

mod reads;
mod registration;
mod stakes;
mod streams;
mod tokens;

use std::sync::Arc;

use anchor_client::{Client, Cluster, Program};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::AccountDeserialize;
use anchor_spl::associated_token::get_associated_token_address;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::rpc_client::RpcClient;
use solana_signer::Signer;

pub use solana_transaction::Signature;

/// Why a call through [`AetherClient`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ProgramClientError {
    /// The RPC call or the transaction failed; the program's error, if
    /// any, is in the message.
    #[error("{0}")]
    Client(#[from] Box<anchor_client::ClientError>),
    /// An account the call needs does not exist.
    #[error("{0} does not exist")]
    Missing(&'static str),
    /// An account exists but is not laid out as the program writes it.
    #[error("{0} does not decode")]
    Malformed(&'static str),
}

impl From<anchor_client::ClientError> for ProgramClientError {
    fn from(e: anchor_client::ClientError) -> Self {
        ProgramClientError::Client(Box::new(e))
    }
}

/// The unix time in the Clock sysvar's account data, as programs see it.
pub fn clock_unix_timestamp(data: &[u8]) -> Option<i64> {
    // slot, epoch_start_timestamp, epoch, leader_schedule_epoch, then
    // unix_timestamp: 8 bytes each, little-endian.
    data.get(32..40)
        .and_then(|b| b.try_into().ok())
        .map(i64::from_le_bytes)
}

/// Sends Aether's instructions and reads its accounts, paying and signing
/// with one keypair.
pub struct AetherClient {
    client: Client<Arc<Keypair>>,
    payer: Arc<Keypair>,
}

impl AetherClient {
    /// A client of the cluster at `rpc_url` (its WebSocket is taken to be on
    /// the next port, as with `solana-test-validator` and `aether localnet`).
    pub fn new(rpc_url: &str, payer: Keypair) -> Self {
        let ws_url = ws_url_of(rpc_url);
        let payer = Arc::new(payer);
        let client = Client::new_with_options(
            Cluster::Custom(rpc_url.to_string(), ws_url),
            payer.clone(),
            CommitmentConfig::confirmed(),
        );
        AetherClient { client, payer }
    }

    /// The paying and signing key.
    pub fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    fn program(&self, id: Pubkey) -> Result<Program<Arc<Keypair>>, ProgramClientError> {
        Ok(self.client.program(id)?)
    }

    /// Sends `instructions` in one transaction, paid and signed by the payer.
    pub fn send(&self, instructions: Vec<Instruction>) -> Result<Signature, ProgramClientError> {
        self.send_signed(instructions, &[])
    }

    /// Sends `instructions` in one transaction, paid by the payer and
    /// signed by it and `signers` (e.g. a resource node's identity key).
    pub fn send_signed(
        &self,
        instructions: Vec<Instruction>,
        signers: &[&Keypair],
    ) -> Result<Signature, ProgramClientError> {
        let program_id = instructions
            .first()
            .map(|i| i.program_id)
            .unwrap_or(aether_staking::ID);
        let program = self.program(program_id)?;
        let mut request = program.request();
        for ix in instructions {
            request = request.instruction(ix);
        }
        for signer in signers {
            request = request.signer(signer.insecure_clone());
        }
        Ok(request.send()?)
    }

    /// The account at `address` of `program`, decoded; `None` if it does not exist.
    pub fn account<T: AccountDeserialize>(
        &self,
        program: Pubkey,
        address: Pubkey,
    ) -> Result<Option<T>, ProgramClientError> {
        if !exists(&self.program(program)?.rpc(), &address)? {
            return Ok(None);
        }
        Ok(Some(self.program(program)?.account::<T>(address)?))
    }

    /// The payer's associated token account of `mint`, where its tokens
    /// come from and go to.
    fn payer_tokens(&self, mint: &Pubkey) -> Pubkey {
        get_associated_token_address(&self.payer(), mint)
    }
}

/// An RPC failure, reported as anchor-client reports its own.
fn rpc_error<E>(e: E) -> ProgramClientError
where
    anchor_client::ClientError: From<Box<E>>,
{
    ProgramClientError::from(anchor_client::ClientError::from(Box::new(e)))
}

/// Whether an account is at `address` (confirmed). Only an account that
/// does not exist is `false`: any other failure is an error.
fn exists(rpc: &RpcClient, address: &Pubkey) -> Result<bool, ProgramClientError> {
    Ok(rpc
        .get_account_with_commitment(address, CommitmentConfig::confirmed())
        .map_err(rpc_error)?
        .value
        .is_some())
}

/// The WebSocket URL that goes with a JSON-RPC URL: `http://host:8899` →
/// `ws://host:8900` (Solana's convention, which Surfpool keeps).
pub fn ws_url_of(rpc_url: &str) -> String {
    let ws = rpc_url
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    match ws.rsplit_once(':') {
        Some((head, port)) => match port.trim_end_matches('/').parse::<u16>() {
            Ok(p) => format!("{head}:{}", p.wrapping_add(1)),
            Err(_) => ws,
        },
        None => ws,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn websocket_is_on_the_next_port() {
        assert_eq!(
            super::ws_url_of("http://127.0.0.1:8899"),
            "ws://127.0.0.1:8900"
        );
        assert_eq!(
            super::ws_url_of("https://rpc.example.com"),
            "wss://rpc.example.com"
        );
    }
}
