//! Seeds and limits of the escrow program.

use anchor_lang::prelude::*;

/// Seed of the single [`crate::state::EscrowConfig`].
#[constant]
pub const SEED_CONFIG: &[u8] = b"config";
/// Seed of a [`crate::state::Stream`]: `["stream", owner, resource]`.
#[constant]
pub const SEED_STREAM: &[u8] = b"stream";
/// Seed of a stream's token vault: `["vault", stream]`.
#[constant]
pub const SEED_VAULT: &[u8] = b"vault";

/// Layout version written in every account this program creates.
pub const ACCOUNT_VERSION: u8 = 1;
/// Most provider slots a stream has.
#[constant]
pub const MAX_REPLICAS: u8 = 8;
/// Most providers an owner may restrict a stream to.
#[constant]
pub const MAX_ALLOWED: u32 = 8;
/// Seconds in the month storage prices are quoted for (30 days).
#[constant]
pub const SECONDS_PER_MONTH: u64 = 2_592_000;

/// Bytes in the GB of a storage price (per GB-month).
#[constant]
pub const BYTES_PER_GB: u64 = 1_000_000_000;
