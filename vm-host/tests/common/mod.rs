//! The VM tests' shared parts live in `aether-testing`, for the keepers'
//! tests to use too.

pub use aether_testing::vm::*;
