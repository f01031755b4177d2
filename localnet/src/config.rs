use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use serde::{Deserialize, Serialize};

/// How to run a localnet. Shared by the CLI flags and a TOML file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the RPC and WebSocket servers bind. Loopback unless told otherwise.
    pub bind: IpAddr,
    /// JSON-RPC port; WebSocket pubsub listens on the next one.
    pub rpc_port: u16,
    /// Keep accounts and transaction history here across restarts; in memory when unset.
    pub ledger: Option<PathBuf>,
    /// Milliseconds per slot.
    pub slot_ms: u64,
    /// Create the stake mint and initialize every program's config (once per ledger).
    pub bootstrap: bool,
    /// With `bootstrap`: accounts to fund with SOL and stake tokens.
    pub fund: Vec<Pubkey>,
}

/// Default JSON-RPC port, as `solana-test-validator` uses.
pub const DEFAULT_RPC_PORT: u16 = 8899;
/// Default slot length, as mainnet's target.
pub const DEFAULT_SLOT_MS: u64 = 400;

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            rpc_port: DEFAULT_RPC_PORT,
            ledger: None,
            slot_ms: DEFAULT_SLOT_MS,
            bootstrap: false,
            fund: Vec::new(),
        }
    }
}

impl Config {
    /// The WebSocket port: the RPC port plus one.
    pub fn ws_port(&self) -> u16 {
        self.rpc_port.wrapping_add(1)
    }

    pub fn rpc_url(&self) -> String {
        format!("http://{}:{}", self.bind, self.rpc_port)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}:{}", self.bind, self.ws_port())
    }
}

/// A loopback port that is free, and whose successor (the WebSocket port) is
/// free too, for running a localnet beside others (tests, benchmarks).
pub fn free_port_pair() -> Option<u16> {
    (0..100).find_map(|_| {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let next = port.checked_add(1)?;
        TcpListener::bind((Ipv4Addr::LOCALHOST, next)).ok()?;
        Some(port)
    })
}
