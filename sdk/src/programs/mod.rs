//! Clients of Aether's on-chain programs: addresses and instruction builders.

pub mod anchors;
pub mod client;
pub mod escrow;
pub mod registry;
pub mod staking;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{InstructionData, ToAccountMetas};

/// An instruction of `program_id` from its generated accounts and data types.
fn instruction(
    program_id: Pubkey,
    accounts: impl ToAccountMetas,
    data: impl InstructionData,
) -> Instruction {
    Instruction {
        program_id,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}
