//! What the four programs' config instructions share. Each program keeps
//! its config at the address its `SEED_CONFIG` derives, and takes
//! `initialize`, `update_config` and `accept_authority` on it: a signer,
//! whatever else the instruction names, the config, and the event-cpi
//! accounts. Those instructions' generated `accounts::` and `instruction::`
//! types are distinct in each program though named alike, so the builder is
//! a macro over the program's crate rather than a function.

use anchor_lang::prelude::Pubkey;

/// The config account of `program`, at the address `seed` (the program's
/// `SEED_CONFIG`) derives.
pub(super) fn config(program: &Pubkey, seed: &[u8]) -> Pubkey {
    Pubkey::find_program_address(&[seed], program).0
}

/// The instruction `$name` of the program whose crate is `$program`, on its
/// config: its generated `accounts::$name` with the `$field`s given (as in a
/// struct literal) and the config, event authority and program, and its
/// `instruction::$name` with the fields `$data`. The generated accounts
/// type lays the accounts out in the program's order, whatever the order
/// they are named in here.
macro_rules! config_instruction {
    (
        $program:ident,
        $name:ident { $($field:ident $(: $value:expr)?),* $(,)? },
        { $($data:tt)* } $(,)?
    ) => {
        $crate::programs::instruction(
            $program::ID,
            $program::accounts::$name {
                $($field $(: $value)?,)*
                config: $crate::programs::admin::config(
                    &$program::ID,
                    $program::constants::SEED_CONFIG,
                ),
                event_authority: $program::EVENT_AUTHORITY_AND_BUMP.0,
                program: $program::ID,
            },
            $program::instruction::$name { $($data)* },
        )
    };
}
pub(super) use config_instruction;
