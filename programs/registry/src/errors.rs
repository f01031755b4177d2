//! Errors a user of the registry can act on.

use anchor_lang::prelude::*;

#[error_code]
pub enum RegistryError {
    #[msg("Only the registry authority may do this")]
    Unauthorized,
    #[msg("The quorum must be between 5,001 (a majority) and 10,000 basis points")]
    InvalidQuorum,
    #[msg("Only the owner of this node may do this")]
    NotOwner,
    #[msg("The staking node is closed")]
    StakingNodeClosed,
    #[msg("The endpoint or address is empty or longer than 128 bytes")]
    InvalidAddress,
    #[msg("Capacity must name at least one vCPU, some memory and some disk")]
    InvalidCapacity,
    #[msg("The parent must be a registered core node")]
    ParentNotCore,
    #[msg("This field does not apply to this kind of node")]
    WrongNodeKind,
    #[msg("Nothing to update")]
    NothingToUpdate,
    #[msg("Scores run from 0 to 10,000")]
    ScoreOutOfRange,
    #[msg("The report is for another epoch than the current one")]
    WrongEpoch,
    #[msg("Only an active core node may report scores")]
    ReporterNotActive,
    #[msg("A node does not score itself")]
    SelfReport,
    #[msg("This reporter already reported on this node this epoch")]
    DuplicateReport,
    #[msg("The node's report window is full for this epoch")]
    ReportWindowFull,
    #[msg("Arithmetic overflow")]
    Overflow,
    #[msg("A domain is a lowercase DNS name of two or more labels (letters, digits, hyphens), at most 253 bytes")]
    InvalidDomain,
    #[msg("The binding's target changed since it was checked")]
    StaleAttestation,
    #[msg("This binding already holds the most votes it can")]
    AttestersFull,
    #[msg("Only an active core node may attest domains")]
    AttesterNotActive,
    #[msg("Only the authority proposed with update_config may accept it")]
    NotPendingAuthority,
    #[msg("A core node does not score the resource nodes it owns or parents")]
    ConflictOfInterest,
    #[msg("A resource node registers under a core node only with its operator's signature")]
    NoParentConsent,
    #[msg("Only the program's upgrade authority (from its ProgramData account) may initialize it")]
    NotUpgradeAuthority,
}
