//! The escrow program in the real Solana runtime, with registry records as providers.

mod escrow {
    mod common;
    mod conservation;
    mod policy;
    mod refusals;
    mod story;
}
