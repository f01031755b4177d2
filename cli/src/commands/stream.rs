//! `aether stream`: open, fund, join, leave, settle, close and show payment streams.

use aether_escrow::state::{EscrowConfig, ProviderSlot, ServePolicy, Stream, StreamKind};
use aether_escrow::OpenStreamArgs;
use aether_sdk::programs::escrow;
use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address;
use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};
use solana_transaction::Signature;

use crate::chain::{hex, parse_hash32, Chain, ChainArgs};

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

/// The bytes a stream states: required for storage, refused for compute.
fn stated_size(kind: Kind, size_bytes: Option<u64>) -> Result<u64> {
    match (kind, size_bytes) {
        (Kind::Storage, Some(n)) if n > 0 => Ok(n),
        (Kind::Storage, _) => {
            anyhow::bail!("a storage stream needs --size-bytes (at least 1)")
        }
        (Kind::Compute, None) => Ok(0),
        (Kind::Compute, Some(_)) => {
            anyhow::bail!("--size-bytes is for storage streams only")
        }
    }
}

/// Who may serve a new stream, of which the owner must say something.
fn serve_policy(allow: &[Pubkey], min_score: Option<u16>) -> Result<ServePolicy> {
    if allow.is_empty() && min_score.is_none() {
        anyhow::bail!(
            "say who may serve the stream: --allow <record> (repeatable), \
             --min-score <0..10000>, or both"
        );
    }
    Ok(min_score.map_or(ServePolicy::Allowlist, ServePolicy::MinScore))
}

/// What every action needs: the chain, the escrow's mint, the keypair and
/// its token account of that mint.
struct Session {
    chain: Chain,
    mint: Pubkey,
    me: Pubkey,
    my_tokens: Pubkey,
}

impl Session {
    fn connect(args: &ChainArgs) -> Result<Self> {
        let chain = args.connect()?;
        let config: EscrowConfig = chain.account(&escrow::config(), "escrow config")?;
        let mint = config.mint;
        let me = chain.pubkey();
        let my_tokens = get_associated_token_address(&me, &mint);
        Ok(Self {
            chain,
            mint,
            me,
            my_tokens,
        })
    }

    /// The stream's provider slots, which the instructions that pay take.
    fn slots(&self, stream: &Pubkey) -> Result<Vec<ProviderSlot>> {
        Ok(self.chain.account::<Stream>(stream, "stream")?.providers)
    }

    /// Opens the stream; returns the signature and the stream's address.
    fn open(&self, args: OpenStreamArgs) -> Result<(Signature, Pubkey)> {
        let stream = escrow::stream(&self.me, &args.resource);
        let ix = escrow::open_stream(self.me, self.mint, self.my_tokens, args);
        Ok((self.chain.send(&[ix])?, stream))
    }

    fn top_up(&self, stream: Pubkey, amount: u64) -> Result<Signature> {
        let ix = escrow::top_up(self.me, self.mint, self.my_tokens, stream, amount);
        self.chain.send(&[ix])
    }

    fn join(&self, stream: Pubkey, provider: Pubkey, payout: Option<Pubkey>) -> Result<Signature> {
        let payout = payout.unwrap_or(self.my_tokens);
        let slots = self.slots(&stream)?;
        let ix = escrow::join_stream(self.me, provider, payout, self.mint, stream, &slots);
        self.chain.send(&[ix])
    }

    fn leave(&self, stream: Pubkey, provider: Pubkey) -> Result<Signature> {
        let ix = escrow::leave_stream(self.me, provider, self.mint, stream, &self.slots(&stream)?);
        self.chain.send(&[ix])
    }

    fn settle(&self, stream: Pubkey) -> Result<Signature> {
        let ix = escrow::settle(self.mint, stream, &self.slots(&stream)?);
        self.chain.send(&[ix])
    }

    /// Closes the stream; returns what is printed, the stream being gone.
    fn close(&self, stream: Pubkey) -> Result<Value> {
        let ix = escrow::close_stream(
            self.me,
            self.my_tokens,
            self.mint,
            stream,
            &self.slots(&stream)?,
        );
        let sig = self.chain.send(&[ix])?;
        Ok(json!({"signature": sig.to_string(), "stream": stream.to_string(), "closed": true}))
    }

    /// The stream as printed, with the signature of what was just sent.
    fn describe(&self, stream: &Pubkey, signature: Option<Signature>) -> Result<Value> {
        let s: Stream = self.chain.account(stream, "stream")?;
        let vault = self
            .chain
            .rpc
            .get_token_account_balance(&escrow::vault(stream))?
            .amount
            .parse()
            .unwrap_or_default();
        let mut out = show(stream, &s, vault);
        if let Some(sig) = signature {
            out["signature"] = json!(sig.to_string());
        }
        Ok(out)
    }
}

impl StreamCmd {
    /// Runs the action and returns what it prints.
    pub fn run(&self) -> Result<Value> {
        let session = Session::connect(&self.chain)?;
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
                let size_bytes = stated_size(*kind, *size_bytes)?;
                let serve = serve_policy(allow, *min_score)?;
                let (sig, stream) = session.open(OpenStreamArgs {
                    resource,
                    kind: match kind {
                        Kind::Compute => StreamKind::Compute,
                        Kind::Storage => StreamKind::Storage,
                    },
                    max_rate_per_second: *rate,
                    replicas: *replicas,
                    deposit: *deposit,
                    serve,
                    allowed: allow.clone(),
                    size_bytes,
                })?;
                (Some(sig), stream)
            }
            StreamAction::TopUp { stream, amount } => {
                (Some(session.top_up(*stream, *amount)?), *stream)
            }
            StreamAction::Join {
                stream,
                provider,
                payout,
            } => (Some(session.join(*stream, *provider, *payout)?), *stream),
            StreamAction::Leave { stream, provider } => {
                (Some(session.leave(*stream, *provider)?), *stream)
            }
            StreamAction::Settle { stream } => (Some(session.settle(*stream)?), *stream),
            StreamAction::Close { stream } => return session.close(*stream),
            StreamAction::Show { stream } => (None, *stream),
        };
        session.describe(&stream, signature)
    }

    pub fn execute(self) -> Result<()> {
        println!("{}", serde_json::to_string_pretty(&self.run()?)?);
        Ok(())
    }
}
