//! Instruction builders for the staking program, over its generated
//! `accounts::*` and `instruction::*` types.

use aether_staking::constants::*;
use aether_staking::state::Params;
use aether_staking::{accounts, instruction, UpdateConfigArgs, ID};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, InstructionData, ToAccountMetas};
use anchor_spl::token::spl_token;

pub fn config() -> Pubkey {
    Pubkey::find_program_address(&[SEED_CONFIG], &ID).0
}
pub fn stake_vault() -> Pubkey {
    Pubkey::find_program_address(&[SEED_STAKE_VAULT], &ID).0
}
pub fn reward_vault() -> Pubkey {
    Pubkey::find_program_address(&[SEED_REWARD_VAULT], &ID).0
}
pub fn node(operator: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[SEED_NODE, operator.as_ref()], &ID).0
}
pub fn position(node: &Pubkey, staker: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[SEED_STAKE, node.as_ref(), staker.as_ref()], &ID).0
}
pub fn epoch_record(epoch: u64) -> Pubkey {
    Pubkey::find_program_address(&[SEED_EPOCH, &epoch.to_le_bytes()], &ID).0
}
fn event_authority() -> Pubkey {
    aether_staking::EVENT_AUTHORITY_AND_BUMP.0
}

fn ix(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

pub fn initialize(authority: Pubkey, mint: Pubkey, params: Params) -> Instruction {
    ix(
        accounts::Initialize {
            authority,
            config: config(),
            stake_mint: mint,
            stake_vault: stake_vault(),
            reward_vault: reward_vault(),
            token_program: spl_token::ID,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::Initialize { params },
    )
}

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

pub fn create_node(
    operator: Pubkey,
    mint: Pubkey,
    operator_tokens: Pubkey,
    amount: u64,
) -> Instruction {
    let node = node(&operator);
    ix(
        accounts::CreateNode {
            operator,
            config: config(),
            node,
            position: position(&node, &operator),
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

pub fn stake(
    staker: Pubkey,
    node: Pubkey,
    mint: Pubkey,
    staker_tokens: Pubkey,
    record: Option<Pubkey>,
    amount: u64,
) -> Instruction {
    ix(
        accounts::Stake {
            staker,
            config: config(),
            node,
            position: position(&node, &staker),
            activation_record: record,
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

pub fn request_unstake(
    staker: Pubkey,
    node: Pubkey,
    record: Option<Pubkey>,
    amount: u64,
) -> Instruction {
    ix(
        accounts::RequestUnstake {
            staker,
            config: config(),
            node,
            position: position(&node, &staker),
            activation_record: record,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::RequestUnstake { amount },
    )
}

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

pub fn claim_rewards(
    claimer: Pubkey,
    node: Pubkey,
    mint: Pubkey,
    destination: Pubkey,
    record: Option<Pubkey>,
) -> Instruction {
    ix(
        accounts::ClaimRewards {
            claimer,
            config: config(),
            node,
            position: position(&node, &claimer),
            activation_record: record,
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

pub fn close_node(operator: Pubkey, record: Option<Pubkey>) -> Instruction {
    ix(
        accounts::CloseNode {
            operator,
            config: config(),
            node: node(&operator),
            activation_record: record,
            event_authority: event_authority(),
            program: ID,
        },
        instruction::CloseNode {},
    )
}

/// The record a node needs when its activation has matured, if it does.
pub fn record_for(
    node: &aether_staking::state::Node,
    config: &aether_staking::state::Config,
) -> Option<Pubkey> {
    use aether_staking::state::NodeStatus;
    (node.status == NodeStatus::Pending && node.activation_epoch <= config.epoch)
        .then(|| epoch_record(node.activation_epoch - 1))
}
