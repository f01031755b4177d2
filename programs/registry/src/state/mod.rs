//! Accounts of the registry.

mod config;
mod node_record;

pub use config::*;
pub use node_record::*;
