//! End-to-end tests across crates live in `tests/`; this crate has no
//! code of its own. `cargo test -p aether-e2e` runs them.
