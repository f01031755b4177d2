//! Clients of Aether's on-chain programs: addresses and instruction builders.

mod admin;
pub mod anchors;
pub mod client;
pub mod escrow;
pub mod registry;
pub mod staking;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{InstructionData, ToAccountMetas};

/// Where the upgradeable loader keeps `program`'s ProgramData: the account
/// that names its upgrade authority, the only key its `initialize` accepts.
pub fn program_data(program: &Pubkey) -> Pubkey {
    use anchor_lang::solana_program::bpf_loader_upgradeable;
    Pubkey::find_program_address(&[program.as_ref()], &bpf_loader_upgradeable::ID).0
}

/// The loader's ProgramData header naming `upgrade_authority`, as a deploy
/// writes it (without the program's bytes, which follow it on a real
/// cluster). A chain that runs the programs as native builtins (the program
/// tests, the localnet) has no deploy, so it holds this at
/// [`program_data`] instead, owned by the upgradeable loader.
pub fn program_data_header(upgrade_authority: &Pubkey) -> Vec<u8> {
    use anchor_lang::solana_program::bpf_loader_upgradeable::UpgradeableLoaderState;
    bincode::serialize(&UpgradeableLoaderState::ProgramData {
        slot: 0,
        upgrade_authority_address: Some(*upgrade_authority),
    })
    .expect("a fixed-size enum always serializes")
}

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
