//! `aether node register` and `aether node score`: a node runner's
//! registry records.

use std::path::{Path, PathBuf};

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::programs::client::{AetherClient, Signature};
use aether_sdk::programs::{registry, staking};
use aether_sdk::registry_program::state::NodeRecord;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use solana_keypair::Keypair;

use crate::chain::ChainArgs;

#[derive(Debug, Args)]
pub struct RegisterCmd {
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Print JSON instead of a summary
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub kind: RegisterKind,
}

#[derive(Debug, Subcommand)]
pub enum RegisterKind {
    /// Register the keypair's staking node as a core node
    Core {
        /// The core node's HTTP API, e.g. https://node.example.com
        #[arg(long)]
        endpoint: String,
        /// Its p2p multiaddress, e.g. /dns4/node.example.com/tcp/4025
        #[arg(long)]
        p2p_address: String,
    },
    /// Register a resource node (owned by the keypair) under a core node
    Resource {
        /// The resource node's own keypair (its identity); it signs too
        #[arg(long, value_name = "FILE")]
        identity: PathBuf,
        /// The core node's operator
        #[arg(long)]
        parent_operator: Pubkey,
        /// The core node operator's keypair, whose signature is its consent
        /// to the resource node [default: your keypair, when you run it]
        #[arg(long)]
        parent_keypair: Option<PathBuf>,
        /// Its vm-host, e.g. https://crn.example.com
        #[arg(long)]
        endpoint: String,
        #[arg(long)]
        vcpus: u16,
        #[arg(long)]
        memory_mib: u32,
        #[arg(long)]
        disk_gib: u32,
        /// Lowest compute price accepted, base units per second
        #[arg(long, default_value_t = 1)]
        min_price_compute: u64,
        /// Lowest storage price accepted, base units per GB-month
        #[arg(long, default_value_t = 1)]
        min_price_storage: u64,
    },
}

#[derive(Debug, Args)]
pub struct ScoreCmd {
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Print JSON instead of a summary
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub action: ScoreAction,
}

#[derive(Debug, Subcommand)]
pub enum ScoreAction {
    /// A node's score and the reports behind it
    Show {
        /// A resource node's identity key, or a core node's operator
        #[arg(long)]
        node: Pubkey,
    },
}

/// The record of `node`: a resource node's identity, else a core node's operator.
fn find(client: &AetherClient, node: &Pubkey) -> Result<(Pubkey, NodeRecord)> {
    if let Some(record) = client.node_record(node)? {
        return Ok((registry::record(node), record));
    }
    let staking_node = staking::node(node);
    let record = client.node_record(&staking_node)?.with_context(|| {
        format!("{node} is neither a resource node's identity nor a core node's operator")
    })?;
    Ok((registry::record(&staking_node), record))
}

fn summary(key: &Pubkey, r: &NodeRecord) -> Value {
    json!({
        "record": key.to_string(),
        "kind": format!("{:?}", r.kind),
        "owner": r.owner.to_string(),
        "endpoint": r.endpoint,
        "capacity": {"vcpus": r.capacity.vcpus, "memory_mib": r.capacity.memory_mib, "disk_gib": r.capacity.disk_gib},
        "score": r.score,
        "scored": r.scored,
        "score_epoch": r.score_epoch,
    })
}

/// Registers the keypair's staking node as a core node; returns the
/// signature and the record.
fn register_core(
    client: &AetherClient,
    endpoint: &str,
    p2p_address: &str,
) -> Result<(Signature, Pubkey)> {
    let me = client.payer();
    let sig = client.send(vec![registry::register_core_node(
        me,
        registry::RegisterCoreNodeArgs {
            endpoint: endpoint.to_owned(),
            p2p_address: p2p_address.to_owned(),
        },
    )])?;
    Ok((sig, registry::record(&staking::node(&me))))
}

/// Registers the resource node whose keypair is the file `identity` (it
/// signs too) under `parent_operator`'s core node; returns the signature
/// and the record.
fn register_resource(
    client: &AetherClient,
    identity: &Path,
    parent_operator: Pubkey,
    parent_keypair: Option<&Path>,
    args: registry::RegisterResourceNodeArgs,
) -> Result<(Signature, Pubkey)> {
    let me = client.payer();
    let identity = solana_keypair::read_keypair_file(identity)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("reading the identity {}", identity.display()))?;
    let id = solana_signer::Signer::pubkey(&identity);
    let consent = parent_consent(parent_operator, parent_keypair, me)?;
    let mut signers = vec![&identity];
    signers.extend(consent.as_ref());
    let sig = client.send_signed(
        vec![registry::register_resource_node(
            me,
            id,
            registry::record(&staking::node(&parent_operator)),
            parent_operator,
            args,
        )],
        &signers,
    )?;
    Ok((sig, registry::record(&id)))
}

/// The core node operator's keypair, when `me` is not that operator.
fn parent_consent(
    parent_operator: Pubkey,
    parent_keypair: Option<&Path>,
    me: Pubkey,
) -> Result<Option<Keypair>> {
    // The parent operator's signature is its consent.
    let consent = match parent_keypair {
        Some(path) => Some(
            solana_keypair::read_keypair_file(path)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("reading {}", path.display()))?,
        ),
        None if parent_operator == me => None,
        None => anyhow::bail!(
            "the core node's operator {parent_operator} must consent: pass its \
             keypair with --parent-keypair"
        ),
    };
    if let Some(key) = &consent {
        let signer = solana_signer::Signer::pubkey(key);
        anyhow::ensure!(
            signer == parent_operator,
            "--parent-keypair holds {signer}, not the parent operator {parent_operator}"
        );
    }
    Ok(consent)
}

impl RegisterCmd {
    /// Runs the registration and returns what it prints.
    pub fn run(&self) -> Result<Value> {
        let client = self.chain.client()?;
        let (signature, record) = match &self.kind {
            RegisterKind::Core {
                endpoint,
                p2p_address,
            } => register_core(&client, endpoint, p2p_address)?,
            RegisterKind::Resource {
                identity,
                parent_operator,
                parent_keypair,
                endpoint,
                vcpus,
                memory_mib,
                disk_gib,
                min_price_compute,
                min_price_storage,
            } => {
                let args = registry::RegisterResourceNodeArgs {
                    endpoint: endpoint.clone(),
                    capacity: registry::Capacity {
                        vcpus: *vcpus,
                        memory_mib: *memory_mib,
                        disk_gib: *disk_gib,
                    },
                    min_price_compute_per_second: *min_price_compute,
                    min_price_storage_per_gb_month: *min_price_storage,
                };
                let parent_keypair = parent_keypair.as_deref();
                register_resource(&client, identity, *parent_operator, parent_keypair, args)?
            }
        };
        let r = client
            .account::<NodeRecord>(aether_sdk::registry_program::ID, record)?
            .context("the record was not created")?;
        let mut out = summary(&record, &r);
        out["signature"] = json!(signature.to_string());
        Ok(out)
    }

    pub fn execute(self) -> Result<()> {
        let out = self.run()?;
        println!("{}", crate::output::render(&out, self.json));
        Ok(())
    }
}

impl ScoreCmd {
    /// Shows the score and the reports behind it.
    pub fn run(&self) -> Result<Value> {
        let client = self.chain.client()?;
        let ScoreAction::Show { node } = &self.action;
        let (key, r) = find(&client, node)?;
        let mut out = summary(&key, &r);
        out["reports"] = json!(r
            .reports
            .iter()
            .map(
                |x| json!({"reporter": x.reporter.to_string(), "epoch": x.epoch, "score": x.score})
            )
            .collect::<Vec<_>>());
        Ok(out)
    }

    pub fn execute(self) -> Result<()> {
        let out = self.run()?;
        println!("{}", crate::output::render(&out, self.json));
        Ok(())
    }
}
