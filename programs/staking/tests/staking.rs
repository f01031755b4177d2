//! The staking program in the real Solana runtime (native builtin, real SPL Token).

mod staking {
    pub mod common;
    mod conservation;
    mod refusals;
    mod story;
    mod timing;
}
