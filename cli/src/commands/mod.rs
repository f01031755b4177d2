pub mod anchors;
pub mod localnet;
pub mod stream;
