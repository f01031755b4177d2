mod attest_domain;
mod deregister_node;
mod initialize;
mod register_core_node;
mod register_resource_node;
mod report_score;
mod request_domain;
mod update_config;
mod update_node;

pub use attest_domain::*;
pub use deregister_node::*;
pub use initialize::*;
pub use register_core_node::*;
pub use register_resource_node::*;
pub use report_score::*;
pub use request_domain::*;
pub use update_config::*;
pub use update_node::*;
