//! Errors a user of the staking program can act on.

use anchor_lang::prelude::*;

#[error_code]
pub enum StakingError {
    #[msg("Only the config authority may do this")]
    Unauthorized,
    #[msg("Parameters are inconsistent: the activation threshold must be at least the minimum operator stake, the epoch length positive and the cooldown at least one epoch")]
    InvalidParams,
    #[msg("The amount must be greater than zero")]
    ZeroAmount,
    #[msg("Arithmetic overflow: the amount is too large")]
    Overflow,
    #[msg("The token account's mint is not the stake mint")]
    WrongMint,
    #[msg("The token account does not belong to the signer")]
    WrongTokenOwner,
    #[msg("The operator must deposit at least the minimum operator stake")]
    BelowMinimumOperatorStake,
    #[msg("The operator cannot go under the minimum operator stake without closing the node")]
    OperatorBelowMinimum,
    #[msg("The node is closed: it takes no new stake")]
    NodeClosed,
    #[msg("The node is already closed")]
    NodeAlreadyClosed,
    #[msg("Only the node's operator may do this")]
    NotOperator,
    #[msg("The stake position does not belong to this node and staker")]
    WrongPosition,
    #[msg("The unstake amount exceeds the staked amount")]
    InsufficientStake,
    #[msg("Nothing is waiting to be withdrawn")]
    NothingToWithdraw,
    #[msg("The unstake cooldown is not over yet")]
    CooldownNotOver,
    #[msg("The epoch is not over yet")]
    EpochNotOver,
    #[msg("Nothing to claim")]
    NothingToClaim,
    #[msg(
        "The reward vault is empty: what is owed stays booked and is paid once the vault is funded"
    )]
    RewardVaultEmpty,
    #[msg("The node's activation must be finalized: pass the epoch record of the epoch before it became active")]
    ActivationRecordRequired,
    #[msg("The epoch record passed is not the one this node's activation needs")]
    WrongActivationRecord,
    #[msg("An account's state is inconsistent")]
    InvariantViolated,
    #[msg("The epoch is over: crank it (crank_epoch) before adding stake")]
    EpochOverdue,
    #[msg("Only the authority proposed with update_config may accept it")]
    NotPendingAuthority,
    #[msg("This operator already runs a node (only a closed node can be created again)")]
    NodeExists,
    #[msg("Stake added during a closed epoch starts earning now: pass that epoch's record and the node's forfeit address for it")]
    IncomingRecordRequired,
    #[msg(
        "The epoch record passed is not the one of the epoch this position's stake was added in"
    )]
    WrongIncomingRecord,
    #[msg("Only the program's upgrade authority (from its ProgramData account) may initialize it")]
    NotUpgradeAuthority,
}
