mod config;
mod domain;
mod node_record;
mod voters;

pub use config::*;
pub use domain::*;
pub use node_record::*;
pub use voters::*;
