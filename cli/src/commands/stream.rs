//! `aether stream`: open, fund, join, leave, settle, close and show payment streams.

use aether_escrow::state::{EscrowConfig, ServePolicy, Stream, StreamKind};
use aether_escrow::OpenStreamArgs;
use aether_sdk::programs::escrow;
use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address;
use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use crate::chain::{hex, parse_hash32, ChainArgs};

#[derive(Debug, Args)]
pub struct StreamCmd {
    #[command(flatten)]
    pub chain: ChainArgs,
    #[command(subcommand)]
    pub action: StreamAction,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    Compute,
    Storage,
}

#[derive(Debug, Subcommand)]
pub enum StreamAction {
    /// Open a stream paying for a resource (the keypair owns it and deposits)
    Open {
        /// Item hash of the message to pay for (64 hex characters)
        #[arg(long)]
        resource: String,
        #[arg(long, value_enum, default_value = "compute")]
        kind: Kind,
        /// Most paid per second in all, in token base units
        #[arg(long)]
        rate: u64,
        #[arg(long, default_value_t = 1)]
        replicas: u8,
        /// Tokens (base units) to deposit now
        #[arg(long)]
        deposit: u64,
        /// Bytes stored (required for --kind storage): providers' price per
        /// GB-month is checked against it
        #[arg(long)]
        size_bytes: Option<u64>,
        /// Resource nodes (registry records) that may serve it whatever the
        /// policy; repeat the flag for several (at most 8)
        #[arg(long = "allow")]
        allow: Vec<Pubkey>,
        /// Let any resource node whose score reached this (0 to 10,000)
        /// serve it; without it, only the --allow nodes (and those you allow
        /// later with allow-providers) may
        #[arg(long)]
        min_score: Option<u16>,
    },
    /// Add tokens to a stream
    TopUp {
        #[arg(long)]
        stream: Pubkey,
        #[arg(long)]
        amount: u64,
    },
    /// Serve a stream with a resource node the keypair owns
    Join {
        #[arg(long)]
        stream: Pubkey,
        /// The resource node's registry record
        #[arg(long)]
        provider: Pubkey,
        /// Token account to be paid into [default: the keypair's associated account]
        #[arg(long)]
        payout: Option<Pubkey>,
    },
    /// Stop serving a stream (paid up to now)
    Leave {
        #[arg(long)]
        stream: Pubkey,
        #[arg(long)]
        provider: Pubkey,
    },
    /// Pay the providers what has accrued
    Settle {
        #[arg(long)]
        stream: Pubkey,
    },
    /// Settle, take the rest back and close (the owner)
    Close {
        #[arg(long)]
        stream: Pubkey,
    },
    /// Print a stream as JSON
    Show {
        #[arg(long)]
        stream: Pubkey,
    },
}

fn show(stream: &Pubkey, s: &Stream, vault: u64) -> Value {
    json!({
        "stream": stream.to_string(),
        "owner": s.owner.to_string(),
        "resource": hex(&s.resource),
        "kind": format!("{:?}", s.kind).to_lowercase(),
        "max_rate_per_second": s.max_rate_per_second,
        "replicas": s.replicas,
        "providers": s.providers.iter().map(|p| json!({
            "record": p.record.to_string(), "payout": p.payout.to_string(),
            "joined_at": p.joined_at, "paid": p.paid,
        })).collect::<Vec<_>>(),
        "allowed": s.allowed.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        "deposited": s.deposited,
        "paid_out": s.paid_out,
        "vault_balance": vault,
        "last_settled": s.last_settled,
        "exhausted": s.exhausted,
        "serve": match s.serve {
            ServePolicy::Allowlist => json!("allowlist"),
            ServePolicy::MinScore(min) => json!({ "min_score": min }),
        },
        "size_bytes": s.size_bytes,
        "carry": s.carry,
    })
}

impl StreamCmd {
    /// Runs the action and returns what it prints.
    pub fn run(&self) -> Result<Value> {
        let chain = self.chain.connect()?;
        let config: EscrowConfig = chain.account(&escrow::config(), "escrow config")?;
        let mint = config.mint;
        let me = chain.pubkey();
        let my_tokens = get_associated_token_address(&me, &mint);
        let slots = |stream: &Pubkey| -> Result<Vec<_>> {
            Ok(chain.account::<Stream>(stream, "stream")?.providers)
        };
        let (signature, stream) = match &self.action {
            StreamAction::Open {
                resource,
                kind,
                rate,
                replicas,
                deposit,
                size_bytes,
                allow,
                min_score,
            } => {
                let resource = parse_hash32(resource)?;
                let size_bytes = match (kind, size_bytes) {
                    (Kind::Storage, Some(n)) if *n > 0 => *n,
                    (Kind::Storage, _) => {
                        anyhow::bail!("a storage stream needs --size-bytes (at least 1)")
                    }
                    (Kind::Compute, None) => 0,
                    (Kind::Compute, Some(_)) => {
                        anyhow::bail!("--size-bytes is for storage streams only")
                    }
                };
                if allow.is_empty() && min_score.is_none() {
                    anyhow::bail!(
                        "say who may serve the stream: --allow <record> (repeatable), \
                         --min-score <0..10000>, or both"
                    );
                }
                let args = OpenStreamArgs {
                    resource,
                    kind: match kind {
                        Kind::Compute => StreamKind::Compute,
                        Kind::Storage => StreamKind::Storage,
                    },
                    max_rate_per_second: *rate,
                    replicas: *replicas,
                    deposit: *deposit,
                    serve: min_score.map_or(ServePolicy::Allowlist, ServePolicy::MinScore),
                    allowed: allow.clone(),
                    size_bytes,
                };
                let sig = chain.send(&[escrow::open_stream(me, mint, my_tokens, args)])?;
                (Some(sig), escrow::stream(&me, &resource))
            }
            StreamAction::TopUp { stream, amount } => (
                Some(chain.send(&[escrow::top_up(me, mint, my_tokens, *stream, *amount)])?),
                *stream,
            ),
            StreamAction::Join {
                stream,
                provider,
                payout,
            } => {
                let payout = payout.unwrap_or(my_tokens);
                let ix = escrow::join_stream(me, *provider, payout, mint, *stream, &slots(stream)?);
                (Some(chain.send(&[ix])?), *stream)
            }
            StreamAction::Leave { stream, provider } => {
                let ix = escrow::leave_stream(me, *provider, mint, *stream, &slots(stream)?);
                (Some(chain.send(&[ix])?), *stream)
            }
            StreamAction::Settle { stream } => (
                Some(chain.send(&[escrow::settle(mint, *stream, &slots(stream)?)])?),
                *stream,
            ),
            StreamAction::Close { stream } => {
                let ix = escrow::close_stream(me, my_tokens, mint, *stream, &slots(stream)?);
                let sig = chain.send(&[ix])?;
                return Ok(
                    json!({"signature": sig.to_string(), "stream": stream.to_string(), "closed": true}),
                );
            }
            StreamAction::Show { stream } => (None, *stream),
        };
        let s: Stream = chain.account(&stream, "stream")?;
        let vault = chain
            .rpc
            .get_token_account_balance(&escrow::vault(&stream))?
            .amount
            .parse()
            .unwrap_or_default();
        let mut out = show(&stream, &s, vault);
        if let Some(sig) = signature {
            out["signature"] = json!(sig.to_string());
        }
        Ok(out)
    }

    pub fn execute(self) -> Result<()> {
        println!("{}", serde_json::to_string_pretty(&self.run()?)?);
        Ok(())
    }
}
