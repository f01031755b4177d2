pub mod anchors;
pub mod crn;
pub mod keeper;
pub mod localnet;
pub mod node;
pub mod stream;
