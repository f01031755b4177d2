//! Clients of Aether's on-chain programs: addresses and instruction builders.

pub mod anchors;
pub mod escrow;
pub mod registry;
pub mod staking;
