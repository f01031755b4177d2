//! `--bootstrap`: the stake token and every program's config, with local
//! defaults, and funded keypairs; reported as JSON for other tools.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aether_sdk::programs::{anchors, escrow, registry, staking};
use aether_staking::state::Params;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::associated_token::{get_associated_token_address, spl_associated_token_account};
use anchor_spl::token::spl_token;
use serde::Serialize;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::{read_keypair_file, write_keypair_file, Keypair};
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;

use crate::{Config, LocalnetError};

/// Decimals of the local stake token.
pub const DECIMALS: u8 = 6;
/// SOL (in lamports) given to the authority and to each funded keypair.
pub const FUND_LAMPORTS: u64 = 100_000_000_000;
/// Stake tokens (in base units) given to each funded keypair: 2,000,000 tokens.
pub const FUND_TOKENS: u64 = 2_000_000 * 10u64.pow(DECIMALS as u32);

/// What `--bootstrap` created, as printed for other tools.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct BootstrapReport {
    pub rpc_url: String,
    pub ws_url: String,
    /// The stake token.
    pub stake_mint: String,
    /// Mint authority and authority of every program's config.
    pub authority: String,
    /// Its keypair file (Solana CLI format).
    pub authority_keypair: PathBuf,
    /// Program name to program id.
    pub programs: BTreeMap<String, String>,
    pub funded: Vec<Funded>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Funded {
    pub address: String,
    /// Its associated token account of the stake mint.
    pub token_account: String,
    pub lamports: u64,
    pub tokens: u64,
}

fn step<E: std::error::Error + Send + Sync + 'static>(
    step: &'static str,
) -> impl FnOnce(E) -> LocalnetError {
    move |e| LocalnetError::Bootstrap {
        step,
        source: Box::new(e),
    }
}

/// The authority's keypair, kept in `dir` so that a restart with the same
/// ledger keeps control of the mint and the configs.
fn authority(dir: &Path) -> Result<(Keypair, PathBuf), LocalnetError> {
    let path = dir.join("authority.json");
    if path.exists() {
        let key = read_keypair_file(&path)
            .map_err(|e| LocalnetError::File(path.clone(), std::io::Error::other(e.to_string())))?;
        return Ok((key, path));
    }
    std::fs::create_dir_all(dir).map_err(|e| LocalnetError::File(dir.to_path_buf(), e))?;
    let key = Keypair::new();
    write_keypair_file(&key, &path)
        .map_err(|e| LocalnetError::File(path.clone(), std::io::Error::other(e.to_string())))?;
    Ok((key, path))
}

async fn send(
    rpc: &RpcClient,
    ixs: &[Instruction],
    payer: &Keypair,
    signers: &[&Keypair],
    what: &'static str,
) -> Result<(), LocalnetError> {
    let blockhash = rpc.get_latest_blockhash().await.map_err(step(what))?;
    let mut all = vec![payer];
    all.extend_from_slice(signers);
    let tx = Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, blockhash);
    rpc.send_and_confirm_transaction(&tx)
        .await
        .map_err(step(what))?;
    Ok(())
}

async fn airdrop(rpc: &RpcClient, to: &Pubkey, lamports: u64) -> Result<(), LocalnetError> {
    let signature = rpc
        .request_airdrop(to, lamports)
        .await
        .map_err(step("airdrop"))?;
    rpc.confirm_transaction_with_spinner(
        &signature,
        &rpc.get_latest_blockhash().await.map_err(step("airdrop"))?,
        CommitmentConfig::confirmed(),
    )
    .await
    .map_err(step("airdrop"))?;
    Ok(())
}

/// The programs run as builtins, never deployed, so no loader wrote their
/// ProgramData: write each one (`surfnet_setAccount`) naming `authority` as
/// upgrade authority, as a deploy would, so that `initialize` accepts it and
/// nobody else. Read back, so that a cheatcode that changed shape fails here.
async fn stand_in_for_deploys(rpc: &RpcClient, authority: &Pubkey) -> Result<(), LocalnetError> {
    use anchor_lang::solana_program::bpf_loader_upgradeable;
    use solana_rpc_client_api::request::RpcRequest;
    let data = aether_sdk::programs::program_data_header(authority);
    // The cheatcode takes the bytes as hex.
    let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
    let lamports = rpc
        .get_minimum_balance_for_rent_exemption(data.len())
        .await
        .map_err(step("writing the programs' ProgramData"))?;
    for program in aether_native_programs::PROGRAMS {
        let address = aether_sdk::programs::program_data(&program.id);
        let _: serde_json::Value = rpc
            .send(
                RpcRequest::Custom {
                    method: "surfnet_setAccount",
                },
                serde_json::json!([
                    address.to_string(),
                    {
                        "lamports": lamports,
                        "data": hex,
                        "owner": bpf_loader_upgradeable::ID.to_string(),
                        "executable": false,
                    }
                ]),
            )
            .await
            .map_err(step("writing the programs' ProgramData"))?;
        let written = rpc
            .get_account_with_commitment(&address, CommitmentConfig::confirmed())
            .await
            .map_err(step("reading the programs' ProgramData"))?
            .value;
        if !written.is_some_and(|a| a.owner == bpf_loader_upgradeable::ID && a.data == data) {
            return Err(LocalnetError::Engine(format!(
                "{}'s ProgramData was not written as asked",
                program.name
            )));
        }
    }
    Ok(())
}

/// Creates (once per ledger) the stake mint and the programs' configs, funds
/// `config.fund`, and returns the report. `dir` keeps the authority keypair.
pub async fn bootstrap(config: &Config, dir: &Path) -> Result<BootstrapReport, LocalnetError> {
    let rpc = RpcClient::new_with_commitment(config.rpc_url(), CommitmentConfig::confirmed());
    let (authority, authority_path) = authority(dir)?;
    let mint = match existing_mint(&rpc).await? {
        Some(mint) => mint,
        None => create_mint_and_configs(&rpc, &authority).await?,
    };
    let mut funded = Vec::new();
    for address in &config.fund {
        funded.push(fund(&rpc, &authority, &mint, address).await?);
    }
    let report = BootstrapReport {
        rpc_url: config.rpc_url(),
        ws_url: config.ws_url(),
        stake_mint: mint.to_string(),
        authority: authority.pubkey().to_string(),
        authority_keypair: authority_path,
        programs: aether_native_programs::PROGRAMS
            .iter()
            .map(|p| (p.name.to_owned(), p.id.to_string()))
            .collect(),
        funded,
    };
    let path = dir.join("bootstrap.json");
    let json = serde_json::to_string_pretty(&report).expect("report serializes");
    std::fs::write(&path, json).map_err(|e| LocalnetError::File(path, e))?;
    Ok(report)
}

/// The stake mint of an earlier bootstrap of this ledger, if there was one.
async fn existing_mint(rpc: &RpcClient) -> Result<Option<Pubkey>, LocalnetError> {
    let existing = rpc
        .get_account_with_commitment(&staking::config(), CommitmentConfig::confirmed())
        .await
        .map_err(step("reading the staking config"))?
        .value;
    let Some(account) = existing else {
        return Ok(None);
    };
    let config =
        <aether_staking::state::Config as anchor_lang::AccountDeserialize>::try_deserialize(
            &mut account.data.as_slice(),
        )
        .map_err(step("decoding the staking config"))?;
    tracing::info!(mint = %config.stake_mint, "already bootstrapped");
    Ok(Some(config.stake_mint))
}

/// Creates the stake mint, with `authority` as its mint authority, and
/// initializes every program's config; returns the mint.
async fn create_mint_and_configs(
    rpc: &RpcClient,
    authority: &Keypair,
) -> Result<Pubkey, LocalnetError> {
    airdrop(rpc, &authority.pubkey(), FUND_LAMPORTS).await?;
    let mint = Keypair::new();
    let rent = rpc
        .get_minimum_balance_for_rent_exemption(spl_token::state::Mint::LEN)
        .await
        .map_err(step("rent"))?;
    let create_mint = [
        anchor_lang::solana_program::system_instruction::create_account(
            &authority.pubkey(),
            &mint.pubkey(),
            rent,
            spl_token::state::Mint::LEN as u64,
            &spl_token::ID,
        ),
        spl_token::instruction::initialize_mint2(
            &spl_token::ID,
            &mint.pubkey(),
            &authority.pubkey(),
            None,
            DECIMALS,
        )
        .map_err(step("building the mint"))?,
    ];
    send(
        rpc,
        &create_mint,
        authority,
        &[&mint],
        "creating the stake mint",
    )
    .await?;
    stand_in_for_deploys(rpc, &authority.pubkey()).await?;
    let init = [
        staking::initialize(authority.pubkey(), mint.pubkey(), Params::default()),
        registry::initialize(
            authority.pubkey(),
            aether_registry::constants::DEFAULT_QUORUM_BPS,
        ),
        // The authority may anchor until core nodes are active.
        anchors::initialize(authority.pubkey(), vec![authority.pubkey()]),
        escrow::initialize(authority.pubkey(), mint.pubkey()),
    ];
    send(rpc, &init, authority, &[], "initializing the programs").await?;
    tracing::info!(mint = %mint.pubkey(), "bootstrapped");
    Ok(mint.pubkey())
}

/// Gives `address` SOL and stake tokens (in its associated token account).
async fn fund(
    rpc: &RpcClient,
    authority: &Keypair,
    mint: &Pubkey,
    address: &Pubkey,
) -> Result<Funded, LocalnetError> {
    airdrop(rpc, address, FUND_LAMPORTS).await?;
    let token_account = get_associated_token_address(address, mint);
    let ixs = [
        spl_associated_token_account::instruction::create_associated_token_account_idempotent(
            &authority.pubkey(),
            address,
            mint,
            &spl_token::ID,
        ),
        spl_token::instruction::mint_to(
            &spl_token::ID,
            mint,
            &token_account,
            &authority.pubkey(),
            &[],
            FUND_TOKENS,
        )
        .map_err(step("building mint_to"))?,
    ];
    send(rpc, &ixs, authority, &[], "funding a keypair").await?;
    Ok(Funded {
        address: address.to_string(),
        token_account: token_account.to_string(),
        lamports: FUND_LAMPORTS,
        tokens: FUND_TOKENS,
    })
}
