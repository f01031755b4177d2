//! Seeds, limits and defaults of the registry. The SDK imports these through
//! the `cpi` feature instead of retyping them.

use anchor_lang::prelude::*;

/// Seed of the single [`crate::state::RegistryConfig`].
#[constant]
pub const SEED_CONFIG: &[u8] = b"config";
/// Seed of a [`crate::state::NodeRecord`]: `["node", identity]`, where the
/// identity is the staking `Node` account for a core node and the node's own
/// key for a resource node.
#[constant]
pub const SEED_NODE: &[u8] = b"node";

/// Layout version written in every account this program creates.
pub const ACCOUNT_VERSION: u8 = 1;

/// Longest endpoint URL or p2p address, in bytes.
#[constant]
pub const MAX_ADDRESS_LEN: u32 = 128;
/// How many recent score reports a node keeps: one from every core node
/// that can be active at once, so a quorum always fits.
#[constant]
pub const MAX_REPORTS: u32 = aether_staking::constants::MAX_ACTIVE_NODES;
/// Scores run from 0 to this.
#[constant]
pub const MAX_SCORE: u16 = 10_000;
/// Basis points in one whole.
pub const BPS: u32 = 10_000;
/// Lowest quorum: a strict majority, so that a binding cannot reach a
/// quorum both ways and one node cannot decide alone in a small network.
pub const MIN_QUORUM_BPS: u16 = 5_001;
/// Default quorum: two thirds of the active core nodes.
pub const DEFAULT_QUORUM_BPS: u16 = 6_667;

/// Seed of a [`crate::state::DomainBinding`]: `["domain", sha256(domain),
/// owner]` (a domain can be longer than a seed may be).
#[constant]
pub const SEED_DOMAIN: &[u8] = b"domain";
/// Longest domain name, in bytes (DNS's limit).
#[constant]
pub const MAX_DOMAIN_LEN: u32 = 253;
/// Core nodes whose votes a binding keeps, each way: every core node that
/// can be active at once, so a quorum always fits.
#[constant]
pub const MAX_ATTESTERS: u32 = aether_staking::constants::MAX_ACTIVE_NODES;
