//! Instruction builders for the registry program.

use aether_registry::constants::*;
pub use aether_registry::state::Capacity;
use aether_registry::{accounts, instruction, ID};
pub use aether_registry::{
    RegisterCoreNodeArgs, RegisterResourceNodeArgs, UpdateConfigArgs, UpdateNodeArgs,
};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, InstructionData, ToAccountMetas};

/// The registry config account.
pub fn config() -> Pubkey {
    Pubkey::find_program_address(&[SEED_CONFIG], &ID).0
}
/// The record of the node whose identity is `identity` (the staking node for
/// a core node, the node's key for a resource node).
pub fn record(identity: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[SEED_NODE, identity.as_ref()], &ID).0
}
fn event_authority() -> Pubkey {
    aether_registry::EVENT_AUTHORITY_AND_BUMP.0
}

fn ix(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    super::instruction(ID, accounts, data)
}

/// `initialize`: creates the registry config with a score quorum in basis points.
pub fn initialize(authority: Pubkey, quorum_bps: u16) -> Instruction {
    ix(
        accounts::Initialize {
            authority,
            config: config(),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::Initialize { quorum_bps },
    )
}

/// `update_config`: a new quorum and/or authority.
pub fn update_config(authority: Pubkey, args: UpdateConfigArgs) -> Instruction {
    ix(
        accounts::UpdateConfig {
            authority,
            config: config(),
            event_authority: event_authority(),
            program: ID,
        },
        instruction::UpdateConfig { args },
    )
}

/// `register_core_node`: registers `operator`'s staking node as a core node.
pub fn register_core_node(operator: Pubkey, args: RegisterCoreNodeArgs) -> Instruction {
    let staking_node = super::staking::node(&operator);
    ix(
        accounts::RegisterCoreNode {
            operator,
            config: config(),
            staking_node,
            record: record(&staking_node),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::RegisterCoreNode { args },
    )
}

/// `register_resource_node`: `owner` and `node_identity` sign; under the core node whose record is `parent`.
pub fn register_resource_node(
    owner: Pubkey,
    node_identity: Pubkey,
    parent: Pubkey,
    args: RegisterResourceNodeArgs,
) -> Instruction {
    ix(
        accounts::RegisterResourceNode {
            owner,
            node_identity,
            config: config(),
            parent,
            record: record(&node_identity),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::RegisterResourceNode { args },
    )
}

/// `update_node`: the owner changes its node; `new_parent` with `move_to_parent`.
pub fn update_node(
    owner: Pubkey,
    record: Pubkey,
    new_parent: Option<Pubkey>,
    args: UpdateNodeArgs,
) -> Instruction {
    ix(
        accounts::UpdateNode {
            owner,
            record,
            new_parent,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::UpdateNode { args },
    )
}

/// `deregister_node`: the owner removes its node and gets the rent back.
pub fn deregister_node(owner: Pubkey, record: Pubkey) -> Instruction {
    ix(
        accounts::DeregisterNode {
            owner,
            config: config(),
            record,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::DeregisterNode {},
    )
}

/// `report_score`: `reporter`'s (an active core node's operator) score for `record` in `epoch`.
pub fn report_score(reporter: Pubkey, record: Pubkey, epoch: u64, score: u16) -> Instruction {
    ix(
        accounts::ReportScore {
            reporter,
            config: config(),
            staking_config: super::staking::config(),
            reporter_node: super::staking::node(&reporter),
            record,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::ReportScore { epoch, score },
    )
}

/// The binding of a custom domain.
pub fn domain_binding(domain: &str) -> Pubkey {
    Pubkey::find_program_address(
        &[SEED_DOMAIN, &aether_registry::state::domain_seed(domain)],
        &ID,
    )
    .0
}

/// `request_domain`: `owner` binds `domain` to its PROGRAM or INSTANCE `target`.
pub fn request_domain(owner: Pubkey, domain: &str, target: [u8; 32]) -> Instruction {
    ix(
        accounts::RequestDomain {
            owner,
            binding: domain_binding(domain),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::RequestDomain {
            domain: domain.to_owned(),
            seed: aether_registry::state::domain_seed(domain),
            target,
        },
    )
}

/// `attest_domain`: `attester` (an active core node's operator) says
/// whether `domain`'s TXT record names `target`.
pub fn attest_domain(attester: Pubkey, domain: &str, target: [u8; 32], ok: bool) -> Instruction {
    ix(
        accounts::AttestDomain {
            attester,
            config: config(),
            staking_config: super::staking::config(),
            attester_node: super::staking::node(&attester),
            binding: domain_binding(domain),
            event_authority: event_authority(),
            program: ID,
        },
        instruction::AttestDomain { target, ok },
    )
}
