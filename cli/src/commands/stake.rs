//! `aether stake`: a wallet holder's and an operator's staking.

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::programs::client::AetherClient;
use aether_sdk::programs::staking;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::chain::ChainArgs;

#[derive(Debug, Args)]
pub struct StakeCmd {
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Print JSON instead of a summary
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub action: StakeAction,
}

#[derive(Debug, Subcommand)]
pub enum StakeAction {
    /// Create the keypair's own staking node with its operator stake
    CreateNode {
        /// Stake tokens, in base units (6 decimals)
        #[arg(long)]
        amount: u64,
    },
    /// Stake on a node
    Stake {
        /// The node's operator [default: the keypair]
        #[arg(long)]
        operator: Option<Pubkey>,
        /// Base units
        #[arg(long)]
        amount: u64,
    },
    /// Ask to take stake back; it can be withdrawn after the cooldown
    Unstake {
        #[arg(long)]
        operator: Option<Pubkey>,
        #[arg(long)]
        amount: u64,
    },
    /// Withdraw stake whose cooldown is over
    Withdraw {
        #[arg(long)]
        operator: Option<Pubkey>,
    },
    /// Claim rewards (and operator rewards, on the keypair's own node)
    Claim {
        #[arg(long)]
        operator: Option<Pubkey>,
    },
    /// A node and the keypair's position on it
    Show {
        #[arg(long)]
        operator: Option<Pubkey>,
    },
}

/// A node and `staker`'s position on it.
fn show(client: &AetherClient, operator: &Pubkey) -> Result<Value> {
    let node = client
        .staking_node(operator)?
        .with_context(|| format!("{operator} has no staking node"))?;
    let config = client.staking_config()?;
    let epoch = config.epoch;
    // A pending node whose activation epoch has come is active; the account
    // says so only at its next update.
    let status = if node.is_active_in(&config) {
        "Active".to_string()
    } else {
        format!("{:?}", node.status)
    };
    let position = client.stake_position(operator, &client.payer())?;
    Ok(json!({
        "node": staking::node(operator).to_string(),
        "operator": operator.to_string(),
        "status": status,
        "activation_epoch": node.activation_epoch,
        "current_epoch": epoch,
        "total_stake": node.total_stake,
        "stakers": node.staker_count,
        "position": position.map(|p| json!({
            "staker": p.staker.to_string(),
            "amount": p.amount + p.incoming,
            // Added to an active node during `incoming_epoch`: it earns
            // from the epoch after.
            "earning": p.amount,
            "incoming": p.incoming,
            "incoming_epoch": p.incoming_epoch,
            "pending_rewards": p.pending_rewards,
            "claimed": p.claimed,
            "unstaking": p.unstaking,
            "unstake_available_at": p.unstake_available_at,
        })),
    }))
}

impl StakeCmd {
    /// Runs the action and returns what it prints.
    pub fn run(&self) -> Result<Value> {
        let client = self.chain.client()?;
        let me = client.payer();
        let (signature, operator) = match &self.action {
            StakeAction::CreateNode { amount } => {
                anyhow::ensure!(*amount > 0, "--amount must be more than 0");
                (Some(client.create_node(*amount)?), me)
            }
            StakeAction::Stake { operator, amount } => {
                anyhow::ensure!(*amount > 0, "--amount must be more than 0");
                let op = operator.unwrap_or(me);
                (Some(client.stake(&op, *amount)?), op)
            }
            StakeAction::Unstake { operator, amount } => {
                anyhow::ensure!(*amount > 0, "--amount must be more than 0");
                let op = operator.unwrap_or(me);
                (Some(client.request_unstake(&op, *amount)?), op)
            }
            StakeAction::Withdraw { operator } => {
                let op = operator.unwrap_or(me);
                (Some(client.withdraw(&op)?), op)
            }
            StakeAction::Claim { operator } => {
                let op = operator.unwrap_or(me);
                (Some(client.claim_rewards(&op)?), op)
            }
            StakeAction::Show { operator } => (None, operator.unwrap_or(me)),
        };
        let mut out = show(&client, &operator)?;
        if let Some(sig) = signature {
            out["signature"] = json!(sig.to_string());
        }
        Ok(out)
    }

    pub fn execute(self) -> Result<()> {
        let out = self.run()?;
        println!("{}", crate::output::render(&out, self.json));
        Ok(())
    }
}
