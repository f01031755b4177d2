pub mod anchors;
pub mod localnet;
pub mod node;
pub mod stream;
