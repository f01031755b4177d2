//! The anchors program: its account addresses and instruction builders. The
//! merkle tree itself is [`aether_anchors::merkle`], re-exported here.

use aether_anchors::constants::*;
use aether_anchors::merkle::MerkleProof;
use aether_anchors::{accounts, instruction, UpdateConfigArgs, ID};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, InstructionData, ToAccountMetas};

use super::admin::config_instruction;

pub use aether_anchors::merkle;

/// The anchors config account.
pub fn config() -> Pubkey {
    super::admin::config(&ID, SEED_CONFIG)
}
/// The log of `submitter`'s recent batch roots (each submitter has its own).
pub fn log(submitter: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[SEED_LOG, submitter.as_ref()], &ID).0
}
fn event_authority() -> Pubkey {
    aether_anchors::EVENT_AUTHORITY_AND_BUMP.0
}

fn ix(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    super::instruction(ID, accounts, data)
}

/// `initialize`: the config, with keys that may anchor before any core node is active.
pub fn initialize(authority: Pubkey, allowlist: Vec<Pubkey>) -> Instruction {
    config_instruction!(
        aether_anchors,
        Initialize {
            authority,
            program_data: super::program_data(&ID),
            system_program: system_program::ID,
        },
        { allowlist }
    )
}

/// `update_config`: allow or revoke keys, and/or propose a new authority.
pub fn update_config(authority: Pubkey, args: UpdateConfigArgs) -> Instruction {
    config_instruction!(aether_anchors, UpdateConfig { authority }, { args })
}

/// `accept_authority`: the key proposed with `update_config` signs to take over.
pub fn accept_authority(new_authority: Pubkey) -> Instruction {
    config_instruction!(aether_anchors, AcceptAuthority { new_authority }, {})
}

/// `submit_batch` by an allowlisted key.
pub fn submit_batch_allowlisted(
    submitter: Pubkey,
    root: [u8; 32],
    count: u32,
    content_id: Vec<u8>,
) -> Instruction {
    submit_batch(submitter, false, root, count, content_id)
}

/// `submit_batch` by `submitter`; with `as_core_node`, its staking node and
/// registry record are passed to prove it is an active core node.
pub fn submit_batch(
    submitter: Pubkey,
    as_core_node: bool,
    root: [u8; 32],
    count: u32,
    content_id: Vec<u8>,
) -> Instruction {
    let staking_node = super::staking::node(&submitter);
    ix(
        accounts::SubmitBatch {
            submitter,
            config: config(),
            log: log(&submitter),
            staking_config: as_core_node.then(super::staking::config),
            staking_node: as_core_node.then_some(staking_node),
            core_record: as_core_node.then(|| super::registry::record(&staking_node)),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::SubmitBatch {
            root,
            count,
            content_id,
        },
    )
}

/// `verify_inclusion`: succeeds only if `item_hash` is in batch `seq`,
/// anchored by `submitter`.
pub fn verify_inclusion(
    submitter: &Pubkey,
    seq: u64,
    item_hash: Vec<u8>,
    proof: MerkleProof,
) -> Instruction {
    ix(
        accounts::VerifyInclusion {
            log: log(submitter),
        },
        instruction::VerifyInclusion {
            seq,
            item_hash,
            proof,
        },
    )
}
