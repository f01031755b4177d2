//! Seeds, limits and defaults. The SDK imports these through the `cpi` feature
//! instead of retyping them.

use anchor_lang::prelude::*;

/// Seed of the single [`crate::state::Config`] account.
#[constant]
pub const SEED_CONFIG: &[u8] = b"config";
/// Seed of the token vault holding every staked token.
#[constant]
pub const SEED_STAKE_VAULT: &[u8] = b"stake_vault";
/// Seed of the token vault rewards are paid from.
#[constant]
pub const SEED_REWARD_VAULT: &[u8] = b"reward_vault";
/// Seed of a [`crate::state::Node`]: `["node", operator]`.
#[constant]
pub const SEED_NODE: &[u8] = b"node";
/// Seed of a [`crate::state::StakePosition`]: `["stake", node, staker]`.
#[constant]
pub const SEED_STAKE: &[u8] = b"stake";
/// Seed of an [`crate::state::EpochRecord`]: `["epoch", epoch as u64 little-endian]`.
#[constant]
pub const SEED_EPOCH: &[u8] = b"epoch";

/// Seed of a [`crate::state::Forfeit`]: `["forfeit", node, epoch as u64 little-endian]`.
#[constant]
pub const SEED_FORFEIT: &[u8] = b"forfeit";

/// Layout version written in every account this program creates.
pub const ACCOUNT_VERSION: u8 = 1;

/// Fixed-point scale of the reward accumulators.
pub const PRECISION: u128 = 1_000_000_000_000;

/// Token decimals the defaults below assume (the stake mint may differ; the
/// authority then sets its own parameters).
pub const DEFAULT_DECIMALS: u8 = 6;
const TOKEN: u64 = 10u64.pow(DEFAULT_DECIMALS as u32);

/// Default stake an operator deposits to create a node: 200,000 tokens.
pub const DEFAULT_MIN_OPERATOR_STAKE: u64 = 200_000 * TOKEN;
/// Default total stake at which a node becomes active: 500,000 tokens.
pub const DEFAULT_ACTIVATION_THRESHOLD: u64 = 500_000 * TOKEN;
/// Default epoch length: one day.
pub const DEFAULT_EPOCH_LENGTH: i64 = 86_400;
/// Default unstake cooldown: seven days.
pub const DEFAULT_UNSTAKE_COOLDOWN: i64 = 7 * 86_400;
/// Default operator envelope per epoch: 10,000 tokens.
pub const DEFAULT_OPERATOR_ENVELOPE: u64 = 10_000 * TOKEN;
/// Default staker envelope base per epoch: 5,000 tokens.
pub const DEFAULT_STAKER_ENVELOPE_BASE: u64 = 5_000 * TOKEN;
/// Default staker envelope added per active node: 1,000 tokens.
pub const DEFAULT_STAKER_ENVELOPE_PER_NODE: u64 = 1_000 * TOKEN;

/// Bounds on what `update_config` accepts. An epoch shorter than a minute
/// would let a crank loop book envelopes faster than anyone can claim; one
/// longer than 30 days freezes activation. A cooldown over a year locks
/// stake for good, and near `i64::MAX` it overflows `request_unstake`.
#[constant]
pub const MIN_EPOCH_LENGTH: i64 = 60;
#[constant]
pub const MAX_EPOCH_LENGTH: i64 = 30 * 86_400;
#[constant]
pub const MAX_UNSTAKE_COOLDOWN: i64 = 365 * 86_400;

/// Most core nodes active or waiting to be, at once. The registry keeps a
/// vote or a score report from each of them in one account, so the quorum
/// it needs always fits the space that holds the votes. A node that passes
/// the activation threshold while the network is full stays inactive; any
/// later stake change on it (even one base unit) tries again.
#[constant]
pub const MAX_ACTIVE_NODES: u32 = 128;
