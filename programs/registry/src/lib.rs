//! Aether registry: who serves. Core nodes (backed by a staking `Node`) and
//! the resource nodes attached to them, with their endpoints, capacity and
//! prices, and the scores core nodes report about them.
//!
//! Layout: `instructions/` one file per instruction, `state/` the accounts,
//! `events.rs`, `errors.rs`, `constants.rs` (seeds and limits).
//!
//! Custom domains: an owner requests a binding of a domain to its PROGRAM
//! or INSTANCE; active core nodes attest whether the domain's TXT record
//! names it; a quorum of them makes it live, or withdraws it.
//!
//! A node's score is the median of the current staking epoch's reports from
//! distinct active core nodes, and counts only once a quorum (a share of the
//! epoch's active core nodes) has reported. Reads of the staking program's
//! accounts check their owner program and seeds.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod constants;
pub mod errors;
pub mod events;
pub mod instructions;
pub mod state;

pub use instructions::*;

declare_id!("H9dwp1eNLdZ3jxSMdnkLcZGfEzzMmps3yzgdNzwMaSDm");

#[program]
pub mod aether_registry {
    use super::*;

    /// Creates the registry config with its authority and score quorum.
    pub fn initialize(ctx: Context<Initialize>, quorum_bps: u16) -> Result<()> {
        Initialize::handler(ctx, quorum_bps)
    }

    /// Authority only: changes the quorum and/or proposes a new authority.
    pub fn update_config(ctx: Context<UpdateConfig>, args: UpdateConfigArgs) -> Result<()> {
        UpdateConfig::handler(ctx, args)
    }

    /// The authority proposed by `update_config` takes over.
    pub fn accept_authority(ctx: Context<AcceptAuthority>) -> Result<()> {
        AcceptAuthority::handler(ctx)
    }

    /// The operator of a staking `Node` registers it as a core node.
    pub fn register_core_node(
        ctx: Context<RegisterCoreNode>,
        args: RegisterCoreNodeArgs,
    ) -> Result<()> {
        RegisterCoreNode::handler(ctx, args)
    }

    /// An owner registers a resource node under a core node.
    pub fn register_resource_node(
        ctx: Context<RegisterResourceNode>,
        args: RegisterResourceNodeArgs,
    ) -> Result<()> {
        RegisterResourceNode::handler(ctx, args)
    }

    /// The owner updates its node's endpoint, address, capacity or prices.
    pub fn update_node(ctx: Context<UpdateNode>, args: UpdateNodeArgs) -> Result<()> {
        UpdateNode::handler(ctx, args)
    }

    /// The owner removes its node and gets the account's rent back.
    pub fn deregister_node(ctx: Context<DeregisterNode>) -> Result<()> {
        DeregisterNode::handler(ctx)
    }

    /// An active core node reports a node's score for the current epoch.
    pub fn report_score(ctx: Context<ReportScore>, epoch: u64, score: u16) -> Result<()> {
        ReportScore::handler(ctx, epoch, score)
    }

    /// The owner of a PROGRAM or INSTANCE binds a custom domain to it;
    /// `seed` is sha256 of the domain, the binding's address seed.
    pub fn request_domain(
        ctx: Context<RequestDomain>,
        domain: String,
        seed: [u8; 32],
        target: [u8; 32],
    ) -> Result<()> {
        RequestDomain::handler(ctx, domain, seed, target)
    }

    /// An active core node attests whether the domain's TXT record names
    /// the binding's target.
    pub fn attest_domain(ctx: Context<AttestDomain>, target: [u8; 32], ok: bool) -> Result<()> {
        AttestDomain::handler(ctx, target, ok)
    }
}

/// The committed `idl/aether_registry.json` matches the program.
#[cfg(all(test, feature = "idl-build"))]
mod idl {
    #[test]
    fn committed_idl_is_current() {
        aether_idl_check::check_committed(env!("CARGO_MANIFEST_DIR"), "aether_registry");
    }
}
