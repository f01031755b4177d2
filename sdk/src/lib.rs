//! Aether for dApps.
//!
//! - [`message`]: the signed, content-hashed message, wire-compatible with
//!   the Aleph specification: typed content of every message type, builders
//!   with defaults, Solana (ed25519) and Ethereum (EIP-191) signing and
//!   verification, batch verification, errors that name the field.
//! - [`content_id`]: sha256 and kubo-compatible IPFS CIDs of files of any
//!   size, streamed.
//! - [`proof`]: merkle proofs of anchored batches and [`proof::verify_anchored`].
//! - [`node_client`]: [`node_client::NodeClient`], the core node's HTTP API.
//! - [`programs`]: addresses and instruction builders of the four on-chain
//!   programs, from the programs' own generated types.
//!
//! Add it with `cargo add aether-sdk --path <aether>/sdk`.
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

#![warn(missing_docs)]

pub mod content_id;
pub mod events;
pub mod indexer_client;
pub mod message;
pub mod node_client;
pub mod programs;
pub mod proof;
pub mod vm;

pub use aether_anchors as anchors_program;
pub use aether_escrow as escrow_program;
pub use aether_registry as registry_program;
pub use aether_staking as staking_program;
pub use anchor_lang;
