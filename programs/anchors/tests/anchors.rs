//! The anchors program in the real Solana runtime, next to the staking and
//! registry programs it reads.

mod anchors {
    mod common;
    mod refusals;
    mod story;
}
