//! The registry program in the real Solana runtime, next to the staking
//! program whose accounts it reads.

mod registry {
    mod common;
    mod domains;
    mod quorum;
    mod refusals;
    mod story;
}
