//! Aether for dApps.
//!
//! Today this crate holds the clients of Aether's on-chain programs:
//! [`programs::staking`], [`programs::registry`], [`programs::escrow`] and
//! [`programs::anchors`] derive every account
//! address and build every instruction from the programs' own generated
//! types, so no caller lists accounts by hand. Messages, content ids and the
//! node's HTTP client come with the SDK issue.
//!
//! ```
//! use aether_sdk::programs::staking;
//! use anchor_lang::prelude::Pubkey;
//!
//! let operator = Pubkey::new_unique();
//! let node = staking::node(&operator);
//! // The operator's own stake position on its node:
//! let position = staking::position(&node, &operator);
//! assert_ne!(node, position);
//! ```

pub mod content_id;
pub mod message;
pub mod node_client;
pub mod programs;
pub mod proof;

pub use aether_anchors as anchors_program;
pub use aether_escrow as escrow_program;
pub use aether_registry as registry_program;
pub use aether_staking as staking_program;
pub use anchor_lang;
