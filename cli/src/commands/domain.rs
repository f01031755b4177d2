//! `aether domain`: bind a custom domain to a PROGRAM or INSTANCE, and see
//! where its binding stands.

use aether_sdk::programs::client::AetherClient;
use aether_sdk::programs::registry;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::chain::{hex, parse_hash32, ChainArgs};

#[derive(Debug, Args)]
pub struct DomainCmd {
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Print JSON instead of a summary
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub action: DomainAction,
}

#[derive(Debug, Subcommand)]
pub enum DomainAction {
    /// Bind a domain to your PROGRAM or INSTANCE; then set the TXT record
    /// `_aether.<domain>` to "<item hash> <your key>" (printed as
    /// txt_record), and core nodes attest it
    Request {
        /// The domain, e.g. app.example.com
        #[arg(long)]
        domain: String,
        /// Item hash of the PROGRAM or INSTANCE (64 hex characters)
        #[arg(long)]
        target: String,
    },
    /// Where a binding stands: pending, live, rejected or withdrawn
    Show {
        #[arg(long)]
        domain: String,
        /// Whose binding (each requester has its own) [default: your wallet]
        #[arg(long)]
        owner: Option<String>,
    },
}

fn show(client: &AetherClient, domain: &str, owner: &Pubkey) -> Result<Value> {
    let binding = client
        .domain_binding(domain, owner)?
        .with_context(|| format!("{owner} never requested {domain}"))?;
    Ok(json!({
        "domain": binding.domain,
        "binding": registry::domain_binding(domain, owner).to_string(),
        "target": hex(&binding.target),
        "owner": binding.owner.to_string(),
        "status": format!("{:?}", binding.status),
        "approvals": binding.approvals.len(),
        "rejections": binding.rejections.len(),
        "txt_record": format!(
            "_aether.{} TXT \"{}\"",
            binding.domain,
            registry::txt_value(&binding.target, &binding.owner)
        ),
    }))
}

impl DomainCmd {
    /// Runs the action and returns what it prints.
    pub fn run(&self) -> Result<Value> {
        let client = self.chain.client()?;
        match &self.action {
            DomainAction::Request { domain, target } => {
                let domain = domain.trim_end_matches('.').to_ascii_lowercase();
                let target = parse_hash32(target).context("--target")?;
                let signature = client.request_domain(&domain, target)?;
                let mut out = show(&client, &domain, &client.payer())?;
                out["signature"] = json!(signature.to_string());
                Ok(out)
            }
            DomainAction::Show { domain, owner } => {
                let owner = match owner {
                    Some(key) => key
                        .parse::<Pubkey>()
                        .map_err(|e| anyhow::anyhow!("--owner {key}: {e}"))?,
                    None => client.payer(),
                };
                show(&client, domain, &owner)
            }
        }
    }

    pub fn execute(self) -> Result<()> {
        let out = self.run()?;
        println!("{}", crate::output::render(&out, self.json));
        Ok(())
    }
}
