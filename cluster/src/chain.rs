//! What `aether up` sets up on chain, once: the core operator's staking
//! node (active from the next epoch, which the local clock is moved to),
//! its core node record, and the resource node's record. Each step looks
//! first, so a second start with the same ledger changes nothing.

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::programs::client::{AetherClient, ProgramClientError};
use aether_sdk::programs::{registry, staking};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Tokens (base units) the core operator stakes: over the activation
/// threshold with room to spare.
pub const CORE_STAKE: u64 = 600_000 * 10u64.pow(aether_localnet::DECIMALS as u32);

/// Creates the operator's staking node unless it exists; returns whether
/// it is active in the current epoch.
pub fn ensure_staking_node(client: &AetherClient) -> Result<bool, ProgramClientError> {
    let operator = client.payer();
    if client.staking_node(&operator)?.is_none() {
        client.create_node(CORE_STAKE)?;
    }
    let node = client
        .staking_node(&operator)?
        .expect("the staking node was just created");
    Ok(node.is_active_in(&client.staking_config()?))
}

/// When the current epoch may be closed (unix seconds).
pub fn epoch_end(client: &AetherClient) -> Result<i64, ProgramClientError> {
    let config = client.staking_config()?;
    Ok(config
        .epoch_started_at
        .saturating_add(config.params.epoch_length))
}

/// Closes the current epoch (the clock must be past [`epoch_end`]).
pub fn crank(client: &AetherClient) -> Result<(), ProgramClientError> {
    let epoch = client.staking_config()?.epoch;
    client.send(vec![staking::crank_epoch(client.payer(), epoch)])?;
    Ok(())
}

/// Registers the operator's core node at `endpoint` unless it is; returns
/// its record.
pub fn ensure_core_record(
    client: &AetherClient,
    endpoint: &str,
    p2p_address: &str,
) -> Result<Pubkey, ProgramClientError> {
    let operator = client.payer();
    let record = registry::record(&staking::node(&operator));
    if client.node_record(&staking::node(&operator))?.is_none() {
        client.send(vec![registry::register_core_node(
            operator,
            registry::RegisterCoreNodeArgs {
                endpoint: endpoint.to_owned(),
                p2p_address: p2p_address.to_owned(),
            },
        )])?;
    }
    Ok(record)
}

/// Registers `identity` as a resource node of the client's payer under the
/// core node of `parent_operator` (who signs its consent) unless it is;
/// returns its record.
pub fn ensure_resource_record(
    client: &AetherClient,
    identity: &Keypair,
    parent_operator: &Keypair,
    endpoint: &str,
    capacity: registry::Capacity,
) -> Result<Pubkey, ProgramClientError> {
    if client.node_record(&identity.pubkey())?.is_none() {
        client.register_resource_node(
            identity,
            Some(parent_operator),
            registry::RegisterResourceNodeArgs {
                endpoint: endpoint.to_owned(),
                capacity,
                min_price_compute_per_second: 1,
                min_price_storage_per_gb_month: 1,
            },
        )?;
    }
    Ok(registry::record(&identity.pubkey()))
}
