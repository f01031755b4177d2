//! A tiny native program that forwards its instruction data to another
//! program by CPI, so tests can show that other programs can call ours (for
//! example `verify_inclusion`). Accounts: the target program, then the
//! accounts to pass, as they are. Data: the target instruction's data.

use anchor_lang::prelude::{AccountInfo, Pubkey};
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::solana_program::program_error::ProgramError;

/// The probe's program id.
pub const ID: Pubkey = Pubkey::from_str_const("CpiProbe11111111111111111111111111111111111");

pub fn process(_program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let (target, rest) = accounts
        .split_first()
        .ok_or(ProgramError::NotEnoughAccountKeys)?;
    let ix = Instruction {
        program_id: *target.key,
        accounts: rest
            .iter()
            .map(|a| AccountMeta {
                pubkey: *a.key,
                is_signer: a.is_signer,
                is_writable: a.is_writable,
            })
            .collect(),
        data: data.to_vec(),
    };
    anchor_lang::solana_program::program::invoke(&ix, accounts)
}

/// An instruction that makes the probe call `inner` by CPI.
pub fn wrap(inner: Instruction) -> Instruction {
    let mut accounts = vec![AccountMeta::new_readonly(inner.program_id, false)];
    accounts.extend(inner.accounts);
    Instruction {
        program_id: ID,
        accounts,
        data: inner.data,
    }
}
