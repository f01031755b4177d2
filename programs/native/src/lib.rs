//! Aether's programs as native entry points.
//!
//! The SBF toolchain cannot be installed on our build machines, so both the
//! program tests (solana-program-test) and the localnet (Surfpool) run the
//! programs as native builtins. Both need each program's Anchor `entry` in
//! the shape a builtin takes, `fn(&Pubkey, &[AccountInfo], &[u8])`; this
//! crate gives them one function per program, and [`PROGRAMS`] to list them.

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;

/// Anchor's `entry` ties its three arguments to one lifetime; a builtin's
/// signature gives each its own. The runtime keeps all three alive for the
/// whole call, so narrowing them to one lifetime is sound.
macro_rules! native_entry {
    ($(#[$doc:meta])* $name:ident => $program:ident) => {
        $(#[$doc])*
        pub fn $name<'a, 'b, 'c, 'd>(
            program_id: &'a Pubkey,
            accounts: &'b [AccountInfo<'c>],
            data: &'d [u8],
        ) -> ProgramResult {
            // SAFETY: see the macro's comment.
            let accounts: &'c [AccountInfo<'c>] = unsafe { std::mem::transmute(accounts) };
            let program_id: &'c Pubkey = unsafe { std::mem::transmute(program_id) };
            let data: &'c [u8] = unsafe { std::mem::transmute(data) };
            $program::entry(program_id, accounts, data)
        }
    };
}

native_entry!(
    /// The staking program's entry point.
    staking => aether_staking
);
native_entry!(
    /// The registry program's entry point.
    registry => aether_registry
);
native_entry!(
    /// The escrow program's entry point.
    escrow => aether_escrow
);
native_entry!(
    /// The anchors program's entry point.
    anchors => aether_anchors
);

/// A program that can run as a native builtin.
#[derive(Clone, Copy, Debug)]
pub struct NativeProgram {
    /// The name `anchor build` gives its `.so` (and Anchor.toml its id).
    pub name: &'static str,
    pub id: Pubkey,
}

/// Every program of Aether that exists so far, in the order they are loaded.
pub const PROGRAMS: [NativeProgram; 4] = [
    NativeProgram {
        name: "aether_staking",
        id: aether_staking::ID,
    },
    NativeProgram {
        name: "aether_registry",
        id: aether_registry::ID,
    },
    NativeProgram {
        name: "aether_escrow",
        id: aether_escrow::ID,
    },
    NativeProgram {
        name: "aether_anchors",
        id: aether_anchors::ID,
    },
];
