//! Accounts of the staking program.

mod config;
mod epoch_record;
mod forfeit;
mod node;
mod position;

pub use config::*;
pub use epoch_record::*;
pub use forfeit::*;
pub use node::*;
pub use position::*;
