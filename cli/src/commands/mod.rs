pub mod anchors;
pub mod crn;
pub mod localnet;
pub mod node;
pub mod stream;
