//! Seeds and limits of the anchors program.

use anchor_lang::prelude::*;

/// Seed of the single [`crate::state::AnchorsConfig`].
#[constant]
pub const SEED_CONFIG: &[u8] = b"config";
/// Seed of a submitter's [`crate::state::BatchLog`]: `["log", submitter]`.
#[constant]
pub const SEED_LOG: &[u8] = b"log";

/// Layout version written in every account this program creates.
pub const ACCOUNT_VERSION: u8 = 1;
/// How many recent batch roots each submitter's log keeps (a log is
/// created whole, and a program grows an account by at most 10 KiB per
/// instruction: 64 entries are 6,200 bytes).
#[constant]
pub const WINDOW: u32 = 64;
/// Longest content id of a batch file (a CIDv1 fits).
#[constant]
pub const MAX_CONTENT_ID_LEN: u32 = 64;
/// Longest item hash a proof is checked for (a CID string fits).
#[constant]
pub const MAX_ITEM_HASH_LEN: u32 = 128;
/// Most submitters on the bootstrap allowlist.
#[constant]
pub const MAX_ALLOWLIST: u32 = 16;
