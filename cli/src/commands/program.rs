//! `aether program deploy` and `aether file upload`: what a dApp developer
//! does from the shell, against a core node and the chain. Messages are
//! signed with the same Solana keypair that pays on chain.

use std::path::{Path, PathBuf};

use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::{Interface, MessageBuilder, ProgramBuilder, StoreBuilder};
use aether_sdk::node_client::{NodeClient, StorageEngine};
use aether_sdk::programs::escrow;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::chain::{parse_hash32, ChainArgs};

/// What both commands share: the chain, the core node, the output.
#[derive(Debug, Args)]
pub struct NodeArgs {
    #[command(flatten)]
    pub chain: ChainArgs,
    /// The core node messages and files go to
    #[arg(
        long,
        global = true,
        env = "AETHER_NODE_URL",
        default_value = "http://127.0.0.1:4024"
    )]
    pub node_url: String,
    /// Print JSON instead of a summary
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProgramCmd {
    #[command(flatten)]
    pub node: NodeArgs,
    #[command(subcommand)]
    pub action: ProgramAction,
}

#[derive(Debug, Subcommand)]
pub enum ProgramAction {
    /// Store the code, post a PROGRAM running it and (with --deposit) open
    /// the stream that pays nodes to serve it
    Deploy(DeployArgs),
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The code: a directory (made into an ext4 volume), a tar archive or
    /// an ext4/squashfs image
    #[arg(long)]
    pub code: PathBuf,
    /// What runs, by `/bin/sh -c` in /code; it serves HTTP on $PORT (8080)
    #[arg(long)]
    pub entrypoint: String,
    /// Memory of each VM, MiB
    #[arg(long, default_value_t = 256)]
    pub memory: u64,
    /// vCPUs of each VM
    #[arg(long, default_value_t = 1)]
    pub vcpus: u32,
    /// An environment variable, NAME=value (repeatable)
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Let the VM reach the core node's API ($AETHER_NODE_URL inside)
    #[arg(long)]
    pub node_api: bool,
    /// Base units deposited into the stream that pays for it (no stream
    /// without it)
    #[arg(long)]
    pub deposit: Option<u64>,
    /// Nodes paid to serve it
    #[arg(long, default_value_t = 1)]
    pub replicas: u8,
    /// Base units a second, shared by the replicas
    #[arg(long, default_value_t = 10)]
    pub rate: u64,
    /// The load balancer, for the URL printed
    #[arg(long, env = "AETHER_LB_URL", default_value = "http://127.0.0.1:4040")]
    pub lb_url: String,
}

#[derive(Debug, Args)]
pub struct FileCmd {
    #[command(flatten)]
    pub node: NodeArgs,
    #[command(subcommand)]
    pub action: FileAction,
}

#[derive(Debug, Subcommand)]
pub enum FileAction {
    /// Upload a file and STORE it (signed with the keypair)
    Upload {
        /// The file
        path: PathBuf,
    },
}

fn account(chain: &ChainArgs) -> Result<SolanaAccount> {
    let path = chain.keypair_path();
    SolanaAccount::from_keypair_file(&path)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("reading the keypair {} (set --keypair)", path.display()))
}

/// Uploads `path` with a progress bar and posts its STORE; returns
/// (file hash, STORE item hash).
async fn store(node: &NodeClient, owner: &SolanaAccount, path: &Path) -> Result<(String, String)> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("uploading {bar:30} {bytes}/{total_bytes}")
            .expect("a valid template"),
    );
    let shown = bar.clone();
    let file = node
        .upload_file(path, StorageEngine::Storage, move |done, total| {
            shown.set_length(total);
            shown.set_position(done);
        })
        .await
        .with_context(|| format!("uploading {}", path.display()))?;
    bar.finish_and_clear();
    let signed = MessageBuilder::new(owner).build(StoreBuilder::new(file.clone())?)?;
    node.post_message(&signed, true)
        .await
        .context("posting the STORE message")?;
    Ok((file, signed.message.item_hash))
}

fn parse_env(items: &[String]) -> Result<Vec<(String, String)>> {
    let mut vars = Vec::new();
    for item in items {
        let Some((name, value)) = item.split_once('=') else {
            bail!("--env {item}: expected NAME=value");
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("--env {item}: a name is letters, digits and _");
        }
        vars.push((name.to_owned(), value.to_owned()));
    }
    Ok(vars)
}

impl DeployArgs {
    async fn deploy(&self, chain: &ChainArgs, node_url: &str) -> Result<Value> {
        self.check()?;
        let vars = parse_env(&self.env)?;
        let owner = account(chain)?;
        let node = NodeClient::new(node_url);
        // A directory becomes an ext4 volume first.
        let scratch = tempfile::tempdir().context("a temporary directory")?;
        let code = self.code_image(scratch.path()).await?;
        let (file, code_store) = store(&node, &owner, &code).await?;
        let hash = self.post_program(&node, &owner, &code_store, vars).await?;
        let mut out = json!({
            "program": hash,
            "code_store": code_store,
            "code_file": file,
            "url": format!("{}/vm/{hash}/", self.lb_url.trim_end_matches('/')),
        });
        out["stream"] = match self.deposit {
            Some(deposit) => self.open_stream(chain, &hash, deposit).await?,
            None => json!("none: no node serves it until a stream pays (--deposit)"),
        };
        Ok(out)
    }

    /// Refuses what cannot be deployed, before anything is uploaded.
    fn check(&self) -> Result<()> {
        anyhow::ensure!(self.replicas >= 1, "--replicas must be at least 1");
        anyhow::ensure!(self.vcpus >= 1, "--vcpus must be at least 1");
        anyhow::ensure!(
            self.code.exists(),
            "--code {}: no such file or directory",
            self.code.display()
        );
        Ok(())
    }

    /// The code as an image: `--code` itself, or for a directory an ext4
    /// volume made of it in `scratch`.
    async fn code_image(&self, scratch: &Path) -> Result<PathBuf> {
        if !self.code.is_dir() {
            return Ok(self.code.clone());
        }
        let image = scratch.join("code.ext4");
        let (dir, out) = (self.code.clone(), image.clone());
        tokio::task::spawn_blocking(move || {
            aether_vm_host::volumes::code_volume_from_dir(
                &dir,
                &out,
                aether_vm_host::MAX_CODE_BYTES,
            )
        })
        .await?
        .with_context(|| format!("making a volume of {}", self.code.display()))?;
        Ok(image)
    }

    /// Posts the PROGRAM running the code STOREd as `code_store`; returns
    /// its item hash.
    async fn post_program(
        &self,
        node: &NodeClient,
        owner: &SolanaAccount,
        code_store: &str,
        vars: Vec<(String, String)>,
    ) -> Result<String> {
        let mut builder = ProgramBuilder::new(code_store, &self.entrypoint, code_store)
            .memory_mib(self.memory)
            .vcpus(self.vcpus);
        let node_api = self.node_api;
        builder = builder.with(move |c| {
            c.code.interface = Some(Interface::Binary);
            c.environment.aleph_api = node_api;
            if !vars.is_empty() {
                c.variables = Some(vars.into_iter().collect());
            }
        });
        let program = MessageBuilder::new(owner).build(builder)?;
        node.post_message(&program, true)
            .await
            .context("posting the PROGRAM message")?;
        Ok(program.message.item_hash)
    }

    /// Opens the stream that pays nodes to serve the program `hash`; returns
    /// what is printed of it.
    async fn open_stream(&self, chain: &ChainArgs, hash: &str, deposit: u64) -> Result<Value> {
        let resource = parse_hash32(hash)?;
        let client = chain.client()?;
        let args = escrow::OpenStreamArgs {
            resource,
            kind: escrow::StreamKind::Compute,
            max_rate_per_second: self.rate,
            replicas: self.replicas,
            deposit,
            // Any registered resource node may serve it.
            serve: escrow::ServePolicy::MinScore(0),
            allowed: Vec::new(),
            size_bytes: 0,
        };
        let signature = tokio::task::spawn_blocking(move || client.open_stream(args))
            .await?
            .context("opening the stream")?;
        Ok(json!({
            "replicas": self.replicas,
            "rate_per_second": self.rate,
            "deposit": deposit,
            "signature": signature.to_string(),
        }))
    }
}

impl ProgramCmd {
    /// Runs the action and returns what it prints.
    pub fn run(&self) -> Result<Value> {
        let runtime = crate::runtime::new()?;
        match &self.action {
            ProgramAction::Deploy(args) => {
                runtime.block_on(args.deploy(&self.node.chain, &self.node.node_url))
            }
        }
    }

    pub fn execute(self) -> Result<()> {
        let out = self.run()?;
        println!("{}", crate::output::render(&out, self.node.json));
        Ok(())
    }
}

impl FileCmd {
    /// Runs the action and returns what it prints.
    pub fn run(&self) -> Result<Value> {
        let runtime = crate::runtime::new()?;
        match &self.action {
            FileAction::Upload { path } => runtime.block_on(async {
                anyhow::ensure!(path.is_file(), "{}: not a file", path.display());
                let owner = account(&self.node.chain)?;
                let node = NodeClient::new(&self.node.node_url);
                let (file, store) = store(&node, &owner, path).await?;
                Ok(json!({
                    "file": file,
                    "store": store,
                    "url": format!("{}/api/v0/storage/raw/{file}", self.node.node_url.trim_end_matches('/')),
                }))
            }),
        }
    }

    pub fn execute(self) -> Result<()> {
        let out = self.run()?;
        println!("{}", crate::output::render(&out, self.node.json));
        Ok(())
    }
}
