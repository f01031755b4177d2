//! Accounts of the staking program.

mod config;
mod epoch_record;
mod node;
mod position;

pub use config::*;
pub use epoch_record::*;
pub use node::*;
pub use position::*;
