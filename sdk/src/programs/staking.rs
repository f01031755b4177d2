//! The staking program: its account addresses and an instruction builder
//! per instruction, over its generated
//! `accounts::*` and `instruction::*` types.

use aether_staking::constants::*;
use aether_staking::state::Params;
use aether_staking::{accounts, instruction, UpdateConfigArgs, ID};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, InstructionData, ToAccountMetas};
use anchor_spl::token::spl_token;

use super::admin::config_instruction;

/// The staking config account.
pub fn config() -> Pubkey {
    super::admin::config(&ID, SEED_CONFIG)
}
/// The token vault that holds every staked token.
pub fn stake_vault() -> Pubkey {
    Pubkey::find_program_address(&[SEED_STAKE_VAULT], &ID).0
}
/// The token vault rewards are paid from.
pub fn reward_vault() -> Pubkey {
    Pubkey::find_program_address(&[SEED_REWARD_VAULT], &ID).0
}
/// The staking `Node` of `operator`.
pub fn node(operator: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[SEED_NODE, operator.as_ref()], &ID).0
}
/// `staker`'s stake position on `node`.
pub fn position(node: &Pubkey, staker: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[SEED_STAKE, node.as_ref(), staker.as_ref()], &ID).0
}
/// The record `crank_epoch` leaves for `epoch`.
pub fn epoch_record(epoch: u64) -> Pubkey {
    Pubkey::find_program_address(&[SEED_EPOCH, &epoch.to_le_bytes()], &ID).0
}
/// The forfeit the node at `node` leaves when it drops out of the active set
/// in `epoch` holding stake added in that epoch.
pub fn forfeit(node: &Pubkey, epoch: u64) -> Pubkey {
    Pubkey::find_program_address(&[SEED_FORFEIT, node.as_ref(), &epoch.to_le_bytes()], &ID).0
}

/// The accounts an instruction on a node needs to bring the node and a
/// stake position up to date. [`catch_up`] reads them from their state.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CatchUp {
    /// The record that finalizes the node's matured activation.
    pub activation_record: Option<Pubkey>,
    /// The record of the closed epoch the position's incoming stake was
    /// added in, and the node's forfeit address for that epoch.
    pub incoming: Option<(Pubkey, Pubkey)>,
}

/// What an instruction touching `node` (at `node_key`) and, when given, a
/// `position` on it needs passed now.
pub fn catch_up(
    node_key: &Pubkey,
    node: Option<&aether_staking::state::Node>,
    config: &aether_staking::state::Config,
    position: Option<&aether_staking::state::StakePosition>,
) -> CatchUp {
    CatchUp {
        activation_record: node.and_then(|node| record_for(node, config)),
        incoming: position
            .filter(|p| p.incoming > 0 && p.incoming_epoch < config.epoch)
            .map(|p| {
                (
                    epoch_record(p.incoming_epoch),
                    forfeit(node_key, p.incoming_epoch),
                )
            }),
    }
}

fn event_authority() -> Pubkey {
    aether_staking::EVENT_AUTHORITY_AND_BUMP.0
}

fn ix(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    super::instruction(ID, accounts, data)
}

/// `initialize`: creates the config and vaults for `mint`; `authority` signs and pays.
pub fn initialize(authority: Pubkey, mint: Pubkey, params: Params) -> Instruction {
    config_instruction!(
        aether_staking,
        Initialize {
            authority,
            program_data: super::program_data(&ID),
            stake_mint: mint,
            stake_vault: stake_vault(),
            reward_vault: reward_vault(),
            token_program: spl_token::ID,
            system_program: system_program::ID,
        },
        { params }
    )
}

/// `update_config`: new parameters (from the next epoch) and/or a proposed authority.
pub fn update_config(authority: Pubkey, args: UpdateConfigArgs) -> Instruction {
    config_instruction!(aether_staking, UpdateConfig { authority }, { args })
}

/// `accept_authority`: the key proposed with `update_config` signs to take over.
pub fn accept_authority(new_authority: Pubkey) -> Instruction {
    config_instruction!(aether_staking, AcceptAuthority { new_authority }, {})
}

/// `fund_rewards`: moves `amount` from `funder_tokens` into the reward vault.
pub fn fund_rewards(
    funder: Pubkey,
    mint: Pubkey,
    funder_tokens: Pubkey,
    amount: u64,
) -> Instruction {
    ix(
        accounts::FundRewards {
            funder,
            config: config(),
            stake_mint: mint,
            funder_tokens,
            reward_vault: reward_vault(),
            token_program: spl_token::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::FundRewards { amount },
    )
}

/// `create_node`: the operator's node, with `amount` (at least the minimum) of its own stake.
/// Pass `catch_up` (see [`catch_up`]) when reopening a closed node.
pub fn create_node(
    operator: Pubkey,
    mint: Pubkey,
    operator_tokens: Pubkey,
    catch_up: CatchUp,
    amount: u64,
) -> Instruction {
    let node = node(&operator);
    ix(
        accounts::CreateNode {
            operator,
            config: config(),
            node,
            position: position(&node, &operator),
            incoming_record: catch_up.incoming.map(|i| i.0),
            incoming_forfeit: catch_up.incoming.map(|i| i.1),
            stake_mint: mint,
            operator_tokens,
            stake_vault: stake_vault(),
            token_program: spl_token::ID,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::CreateNode { amount },
    )
}

/// `stake`: adds `amount` from `staker_tokens` to `node`, with the accounts [`catch_up`] names.
pub fn stake(
    staker: Pubkey,
    node: Pubkey,
    mint: Pubkey,
    staker_tokens: Pubkey,
    catch_up: CatchUp,
    amount: u64,
) -> Instruction {
    ix(
        accounts::Stake {
            staker,
            config: config(),
            node,
            position: position(&node, &staker),
            activation_record: catch_up.activation_record,
            incoming_record: catch_up.incoming.map(|i| i.0),
            incoming_forfeit: catch_up.incoming.map(|i| i.1),
            stake_mint: mint,
            staker_tokens,
            stake_vault: stake_vault(),
            token_program: spl_token::ID,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::Stake { amount },
    )
}

/// `request_unstake`: takes `amount` off `node`; withdrawable after the
/// cooldown. Pass the accounts [`catch_up`] names, and the config's
/// current `epoch`: the node's [`forfeit`] for it is always passed, and
/// the program creates it only if this takes the node out while it holds
/// stake added this epoch.
pub fn request_unstake(
    staker: Pubkey,
    node: Pubkey,
    catch_up: CatchUp,
    epoch: u64,
    amount: u64,
) -> Instruction {
    ix(
        accounts::RequestUnstake {
            staker,
            config: config(),
            node,
            position: position(&node, &staker),
            activation_record: catch_up.activation_record,
            incoming_record: catch_up.incoming.map(|i| i.0),
            incoming_forfeit: catch_up.incoming.map(|i| i.1),
            forfeit: forfeit(&node, epoch),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::RequestUnstake { amount },
    )
}

/// `withdraw`: sends what waited out its cooldown to `destination`.
pub fn withdraw(staker: Pubkey, node: Pubkey, mint: Pubkey, destination: Pubkey) -> Instruction {
    ix(
        accounts::Withdraw {
            staker,
            config: config(),
            position: position(&node, &staker),
            stake_mint: mint,
            destination,
            stake_vault: stake_vault(),
            token_program: spl_token::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::Withdraw {},
    )
}

/// `crank_epoch`: closes `epoch` (the current one) once its time is up.
pub fn crank_epoch(payer: Pubkey, epoch: u64) -> Instruction {
    ix(
        accounts::CrankEpoch {
            payer,
            config: config(),
            record: epoch_record(epoch),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::CrankEpoch {},
    )
}

/// `claim_rewards`: pays `claimer`'s rewards on `node` (and its operator rewards, if it is the operator) to `destination`.
pub fn claim_rewards(
    claimer: Pubkey,
    node: Pubkey,
    mint: Pubkey,
    destination: Pubkey,
    catch_up: CatchUp,
) -> Instruction {
    ix(
        accounts::ClaimRewards {
            claimer,
            config: config(),
            node,
            position: position(&node, &claimer),
            activation_record: catch_up.activation_record,
            incoming_record: catch_up.incoming.map(|i| i.0),
            incoming_forfeit: catch_up.incoming.map(|i| i.1),
            stake_mint: mint,
            destination,
            reward_vault: reward_vault(),
            token_program: spl_token::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::ClaimRewards {},
    )
}

/// `close_node`: the operator closes its node. Pass the record
/// [`record_for`] names and the config's current `epoch` (see
/// [`request_unstake`] for the forfeit it names).
pub fn close_node(operator: Pubkey, record: Option<Pubkey>, epoch: u64) -> Instruction {
    let node = node(&operator);
    ix(
        accounts::CloseNode {
            operator,
            config: config(),
            node,
            activation_record: record,
            forfeit: forfeit(&node, epoch),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::CloseNode {},
    )
}

/// The epoch record a node needs passed with its next instruction, if any: when its activation has matured but is not yet finalized.
pub fn record_for(
    node: &aether_staking::state::Node,
    config: &aether_staking::state::Config,
) -> Option<Pubkey> {
    use aether_staking::state::NodeStatus;
    (node.status == NodeStatus::Pending && node.activation_epoch <= config.epoch)
        .then(|| epoch_record(node.activation_epoch - 1))
}
