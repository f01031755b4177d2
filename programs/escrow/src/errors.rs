//! Errors a user of the escrow program can act on.

use anchor_lang::prelude::*;

#[error_code]
pub enum EscrowError {
    #[msg("Only the config authority may do this")]
    Unauthorized,
    #[msg("Only the stream's owner may do this")]
    NotOwner,
    #[msg("Only the provider's owner may do this")]
    NotProviderOwner,
    #[msg("The amount must be greater than zero")]
    ZeroAmount,
    #[msg("A stream needs a rate above zero and 1 to 8 replicas")]
    InvalidStream,
    #[msg("The token account's mint is not the payment mint")]
    WrongMint,
    #[msg("The token account does not belong to the expected owner")]
    WrongTokenOwner,
    #[msg("The provider must be a registered resource node")]
    NotResourceNode,
    #[msg("Every provider slot is taken")]
    StreamFull,
    #[msg("This provider already serves the stream")]
    AlreadyJoined,
    #[msg("This provider does not serve the stream")]
    NotAProvider,
    #[msg("This provider may not join: it is not on the stream's allowlist and the stream's serve policy does not admit it")]
    ProviderNotAllowed,
    #[msg("The share of the rate is under this provider's minimum price")]
    PriceTooLow,
    #[msg("The stream's vault is exhausted: top it up first")]
    Exhausted,
    #[msg("Pass each provider's payout token account, in slot order, after the named accounts")]
    WrongPayoutAccounts,
    #[msg("The payout account must be the provider owner's associated token account (anyone can recreate it if it is closed)")]
    PayoutNotAssociated,
    #[msg("The allowed list holds at most 8 providers")]
    TooManyAllowed,
    #[msg("Arithmetic overflow: the amount is too large")]
    Overflow,
    #[msg("Only the authority proposed with update_config may accept it")]
    NotPendingAuthority,
    #[msg("A storage stream states its size in bytes (at least 1); a compute stream stores nothing (0)")]
    InvalidSize,
    #[msg("Only the program's upgrade authority (from its ProgramData account) may initialize it")]
    NotUpgradeAuthority,
}
