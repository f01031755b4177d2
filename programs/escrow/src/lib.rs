//! Aether escrow: micropayment streams from a user to the nodes that serve
//! one of its resources (a VM or a stored file, named by its item hash).
//!
//! A stream is a PDA owning a token vault, a total rate and provider slots.
//! The rate is split equally among the filled slots; `settle` pays each
//! provider what accrued since the last settlement, exactly once, and when
//! the vault runs short pays what there is pro rata and marks the stream
//! exhausted. Layout: `instructions/` one file per instruction, `state.rs`,
//! `payout.rs` the settlement shared by every instruction that settles,
//! `events.rs`, `errors.rs`, `constants.rs`.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod constants;
pub mod errors;
pub mod events;
pub mod instructions;
mod payout;
pub mod state;

pub use instructions::*;

declare_id!("5XVXGpzV3So4jCP7ZErGkxNdBavY4dzBkiRim4DqmPEv");

#[program]
pub mod aether_escrow {
    use super::*;

    /// Creates the config with the payment mint.
    pub fn initialize(ctx: Context<Initialize>) -> Result<()> {
        Initialize::handler(ctx)
    }

    /// Authority only: proposes a new authority (`accept_authority` completes it).
    pub fn update_config(ctx: Context<UpdateConfig>, new_authority: Pubkey) -> Result<()> {
        UpdateConfig::handler(ctx, new_authority)
    }

    /// The authority proposed by `update_config` takes over.
    pub fn accept_authority(ctx: Context<AcceptAuthority>) -> Result<()> {
        AcceptAuthority::handler(ctx)
    }

    /// The owner opens a stream for a resource with a deposit.
    pub fn open_stream(ctx: Context<OpenStream>, args: OpenStreamArgs) -> Result<()> {
        OpenStream::handler(ctx, args)
    }

    /// Anyone adds tokens to a stream; an exhausted stream resumes.
    pub fn top_up(ctx: Context<TopUp>, amount: u64) -> Result<()> {
        TopUp::handler(ctx, amount)
    }

    /// A resource node whose minimum price fits its share takes a free slot.
    pub fn join_stream<'info>(ctx: Context<'info, JoinStream<'info>>) -> Result<()> {
        JoinStream::handler(ctx)
    }

    /// The owner names providers that may join whatever the serve policy.
    pub fn allow_providers(ctx: Context<AllowProviders>, allowed: Vec<Pubkey>) -> Result<()> {
        AllowProviders::handler(ctx, allowed)
    }

    /// A provider leaves, paid up to now.
    pub fn leave_stream<'info>(ctx: Context<'info, LeaveStream<'info>>) -> Result<()> {
        LeaveStream::handler(ctx)
    }

    /// The owner removes a provider, paid up to now.
    pub fn remove_provider<'info>(
        ctx: Context<'info, RemoveProvider<'info>>,
        provider: Pubkey,
    ) -> Result<()> {
        RemoveProvider::handler(ctx, provider)
    }

    /// Anyone pays the providers what accrued since the last settlement.
    pub fn settle<'info>(ctx: Context<'info, Settle<'info>>) -> Result<()> {
        Settle::handler(ctx)
    }

    /// The owner settles, takes the rest back and closes the stream.
    pub fn close_stream<'info>(ctx: Context<'info, CloseStream<'info>>) -> Result<()> {
        CloseStream::handler(ctx)
    }
}

/// The committed `idl/aether_escrow.json` matches the program.
#[cfg(all(test, feature = "idl-build"))]
mod idl {
    #[test]
    fn committed_idl_is_current() {
        aether_idl_check::check_committed(env!("CARGO_MANIFEST_DIR"), "aether_escrow");
    }
}
