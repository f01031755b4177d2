mod accept_authority;
mod initialize;
mod submit_batch;
mod update_config;
mod verify_inclusion;

pub use accept_authority::*;
pub use initialize::*;
pub use submit_batch::*;
pub use update_config::*;
pub use verify_inclusion::*;
