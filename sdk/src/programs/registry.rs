//! Instruction builders for the registry program.

use aether_registry::constants::*;
pub use aether_registry::state::Capacity;
use aether_registry::state::{DomainBinding, DomainStatus};
use aether_registry::{accounts, instruction, ID};
pub use aether_registry::{
    RegisterCoreNodeArgs, RegisterResourceNodeArgs, UpdateConfigArgs, UpdateNodeArgs,
};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, InstructionData, ToAccountMetas};

use super::admin::config_instruction;

/// The registry config account.
pub fn config() -> Pubkey {
    super::admin::config(&ID, SEED_CONFIG)
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
    config_instruction!(
        aether_registry,
        Initialize {
            authority,
            program_data: super::program_data(&ID),
            system_program: system_program::ID,
        },
        { quorum_bps }
    )
}

/// `update_config`: a new quorum and/or a proposed authority.
pub fn update_config(authority: Pubkey, args: UpdateConfigArgs) -> Instruction {
    config_instruction!(aether_registry, UpdateConfig { authority }, { args })
}

/// `accept_authority`: the key proposed with `update_config` signs to take over.
pub fn accept_authority(new_authority: Pubkey) -> Instruction {
    config_instruction!(aether_registry, AcceptAuthority { new_authority }, {})
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

/// `register_resource_node`: `owner`, `node_identity` and `parent_operator`
/// (the consent of the operator of the core node whose record is `parent`)
/// sign.
pub fn register_resource_node(
    owner: Pubkey,
    node_identity: Pubkey,
    parent: Pubkey,
    parent_operator: Pubkey,
    args: RegisterResourceNodeArgs,
) -> Instruction {
    ix(
        accounts::RegisterResourceNode {
            owner,
            node_identity,
            parent_operator,
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

/// `update_node`: the owner changes its node; with `move_to_parent`, pass
/// the operator of the new parent core node, who signs its consent.
pub fn update_node(
    owner: Pubkey,
    record: Pubkey,
    new_parent_operator: Option<Pubkey>,
    args: UpdateNodeArgs,
) -> Instruction {
    ix(
        accounts::UpdateNode {
            owner,
            record,
            new_parent: new_parent_operator.map(|op| self::record(&super::staking::node(&op))),
            new_parent_operator,
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

/// `owner`'s binding of a custom domain (each requester has its own).
pub fn domain_binding(domain: &str, owner: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[
            SEED_DOMAIN,
            &aether_registry::state::domain_seed(domain),
            owner.as_ref(),
        ],
        &ID,
    )
    .0
}

/// What `_aether.<domain>` must hold, as one TXT string, for `owner`'s
/// binding of the domain to `target` to go live: the item hash in hex, a
/// space, and the owner's key in base58. Naming the owner is the proof
/// that whoever requested the binding holds the domain.
///
/// ```
/// use aether_sdk::programs::registry::txt_value;
/// use anchor_lang::prelude::Pubkey;
///
/// let owner = Pubkey::new_from_array([1; 32]);
/// let txt = txt_value(&[0xab; 32], &owner);
/// assert_eq!(txt, format!("{} {owner}", "ab".repeat(32)));
/// ```
pub fn txt_value(target: &[u8; 32], owner: &Pubkey) -> String {
    format!("{} {owner}", hex::encode(target))
}

/// The live bindings among `bindings`, as domain → target. While the
/// domain's holder moves it to another owner, two bindings can be live for
/// a moment: the one that went live last wins.
pub fn live_domains(
    bindings: impl IntoIterator<Item = DomainBinding>,
) -> std::collections::HashMap<String, [u8; 32]> {
    let mut live: std::collections::HashMap<String, (i64, [u8; 32])> = Default::default();
    for b in bindings {
        if b.status != DomainStatus::Live {
            continue;
        }
        let entry = live.entry(b.domain).or_insert((b.changed_at, b.target));
        if b.changed_at > entry.0 {
            *entry = (b.changed_at, b.target);
        }
    }
    live.into_iter().map(|(d, (_, t))| (d, t)).collect()
}

/// `request_domain`: `owner` binds `domain` to its PROGRAM or INSTANCE `target`.
pub fn request_domain(owner: Pubkey, domain: &str, target: [u8; 32]) -> Instruction {
    ix(
        accounts::RequestDomain {
            owner,
            binding: domain_binding(domain, &owner),
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
/// whether `domain`'s TXT record names `target` and `owner` ([`txt_value`]),
/// a vote on `owner`'s binding.
pub fn attest_domain(
    attester: Pubkey,
    domain: &str,
    owner: &Pubkey,
    target: [u8; 32],
    ok: bool,
) -> Instruction {
    ix(
        accounts::AttestDomain {
            attester,
            config: config(),
            staking_config: super::staking::config(),
            attester_node: super::staking::node(&attester),
            binding: domain_binding(domain, owner),
            event_authority: event_authority(),
            program: ID,
        },
        instruction::AttestDomain { target, ok },
    )
}

/// Adds the staking nodes `nodes` to an `attest_domain` or `report_score`
/// instruction: those no longer active lose their votes (or this epoch's
/// reports) before the new one counts, so they neither count nor hold a
/// slot.
pub fn dropping_inactive(mut ix: Instruction, nodes: &[Pubkey]) -> Instruction {
    ix.accounts.extend(
        nodes.iter().map(|k| {
            anchor_lang::solana_program::instruction::AccountMeta::new_readonly(*k, false)
        }),
    );
    ix
}
