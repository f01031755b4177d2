//! Program configs in tests: `update_config` instructions that change one
//! thing and leave the rest as it is, and the checks of the two-step
//! authority handover (propose, then accept) every program shares.

use aether_anchors::state::AnchorsConfig;
use aether_escrow::state::EscrowConfig;
use aether_registry::state::RegistryConfig;
use aether_sdk::programs::{anchors, escrow, registry, staking};
use aether_staking::state::{Config, Params};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::AccountDeserialize;
use solana_signer::Signer;

use crate::{Chain, Keypair};

/// Staking `update_config` by `authority`: new parameters (from the next
/// epoch), no authority proposed.
pub fn staking_params(authority: Pubkey, params: Params) -> Instruction {
    staking::update_config(
        authority,
        aether_staking::UpdateConfigArgs {
            params: Some(params),
            new_authority: None,
        },
    )
}

/// Staking `update_config` by `authority`: proposes `to` as the next
/// authority, parameters unchanged.
pub fn staking_authority(authority: Pubkey, to: Pubkey) -> Instruction {
    staking::update_config(
        authority,
        aether_staking::UpdateConfigArgs {
            params: None,
            new_authority: Some(to),
        },
    )
}

/// Registry `update_config` by `authority`: a new quorum, no authority proposed.
pub fn registry_quorum(authority: Pubkey, quorum_bps: u16) -> Instruction {
    registry::update_config(
        authority,
        aether_registry::UpdateConfigArgs {
            quorum_bps: Some(quorum_bps),
            new_authority: None,
        },
    )
}

/// Registry `update_config` by `authority`: proposes `to` as the next
/// authority, quorum unchanged.
pub fn registry_authority(authority: Pubkey, to: Pubkey) -> Instruction {
    registry::update_config(
        authority,
        aether_registry::UpdateConfigArgs {
            quorum_bps: None,
            new_authority: Some(to),
        },
    )
}

/// Anchors `update_config` by `authority`: adds `keys` to the allowlist,
/// nothing else.
pub fn anchors_allow(authority: Pubkey, keys: Vec<Pubkey>) -> Instruction {
    anchors::update_config(
        authority,
        aether_anchors::UpdateConfigArgs {
            allow: keys,
            ..Default::default()
        },
    )
}

/// Anchors `update_config` by `authority`: removes `keys` from the
/// allowlist, nothing else.
pub fn anchors_revoke(authority: Pubkey, keys: Vec<Pubkey>) -> Instruction {
    anchors::update_config(
        authority,
        aether_anchors::UpdateConfigArgs {
            revoke: keys,
            ..Default::default()
        },
    )
}

/// Anchors `update_config` by `authority`: proposes `to` as the next
/// authority, allowlist unchanged.
pub fn anchors_authority(authority: Pubkey, to: Pubkey) -> Instruction {
    anchors::update_config(
        authority,
        aether_anchors::UpdateConfigArgs {
            new_authority: Some(to),
            ..Default::default()
        },
    )
}

/// A program config whose authority changes hands in two steps: the
/// authority proposes a key, which takes over when it accepts.
pub trait TwoStepAuthority: AccountDeserialize {
    /// The config account's address.
    fn address() -> Pubkey;
    /// Who administers the program now.
    fn authority(&self) -> Pubkey;
    /// The key proposed to take over, if any.
    fn pending_authority(&self) -> Option<Pubkey>;
}

impl TwoStepAuthority for Config {
    fn address() -> Pubkey {
        staking::config()
    }
    fn authority(&self) -> Pubkey {
        self.authority
    }
    fn pending_authority(&self) -> Option<Pubkey> {
        self.pending_authority
    }
}

impl TwoStepAuthority for RegistryConfig {
    fn address() -> Pubkey {
        registry::config()
    }
    fn authority(&self) -> Pubkey {
        self.authority
    }
    fn pending_authority(&self) -> Option<Pubkey> {
        self.pending_authority
    }
}

impl TwoStepAuthority for AnchorsConfig {
    fn address() -> Pubkey {
        anchors::config()
    }
    fn authority(&self) -> Pubkey {
        self.authority
    }
    fn pending_authority(&self) -> Option<Pubkey> {
        self.pending_authority
    }
}

impl TwoStepAuthority for EscrowConfig {
    fn address() -> Pubkey {
        escrow::config()
    }
    fn authority(&self) -> Pubkey {
        self.authority
    }
    fn pending_authority(&self) -> Option<Pubkey> {
        self.pending_authority
    }
}

impl Chain {
    /// Sends `propose` (signed by the payer), which must go through, and
    /// asserts that it handed nothing over: `C`'s authority is still
    /// `authority`, and `next` is pending.
    pub async fn assert_proposed<C: TwoStepAuthority>(
        &mut self,
        propose: Instruction,
        authority: Pubkey,
        next: Pubkey,
    ) {
        self.send(&[propose], &[]).await.unwrap();
        let config: C = self.account(C::address()).await;
        assert_eq!(
            config.authority(),
            authority,
            "proposing hands nothing over"
        );
        assert_eq!(config.pending_authority(), Some(next));
    }

    /// Sends `accept` signed by `next`, which must go through, and asserts
    /// that `next` is now `C`'s authority with nothing pending.
    pub async fn assert_accepted<C: TwoStepAuthority>(
        &mut self,
        accept: Instruction,
        next: &Keypair,
    ) {
        self.send(&[accept], &[next]).await.unwrap();
        let config: C = self.account(C::address()).await;
        assert_eq!(
            (config.authority(), config.pending_authority()),
            (next.pubkey(), None)
        );
    }
}
