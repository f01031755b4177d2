use anchor_lang::prelude::*;

use crate::constants::{BPS, MIN_QUORUM_BPS};
use crate::errors::RegistryError;
use crate::state::NodeKind;

/// The registry's single configuration.
#[account]
#[derive(InitSpace, Debug)]
pub struct RegistryConfig {
    pub version: u8,
    pub bump: u8,
    pub authority: Pubkey,
    /// Share of the epoch's active core nodes whose reports make a score count.
    pub quorum_bps: u16,
    pub core_nodes: u32,
    pub resource_nodes: u32,
    /// Proposed by the authority; becomes the authority when it accepts.
    pub pending_authority: Option<Pubkey>,
}

impl RegistryConfig {
    pub fn validate_quorum(quorum_bps: u16) -> Result<()> {
        require!(
            (MIN_QUORUM_BPS..=BPS as u16).contains(&quorum_bps),
            RegistryError::InvalidQuorum
        );
        Ok(())
    }

    /// Reports needed for a score to count when `active` core nodes are
    /// active: `ceil(active × quorum)`, and never fewer than one.
    pub fn quorum(&self, active: u32) -> u32 {
        let needed = (u64::from(active) * u64::from(self.quorum_bps)).div_ceil(u64::from(BPS));
        // needed <= active, which fits in u32.
        (needed as u32).max(1)
    }

    /// The count of registered nodes of `kind`.
    fn nodes_of(&mut self, kind: NodeKind) -> &mut u32 {
        match kind {
            NodeKind::Core => &mut self.core_nodes,
            NodeKind::Resource => &mut self.resource_nodes,
        }
    }

    /// Counts a node of `kind` registered.
    pub fn add_node(&mut self, kind: NodeKind) -> Result<()> {
        let count = self.nodes_of(kind);
        *count = count.checked_add(1).ok_or(RegistryError::Overflow)?;
        Ok(())
    }

    /// Counts a node of `kind` deregistered.
    pub fn remove_node(&mut self, kind: NodeKind) -> Result<()> {
        let count = self.nodes_of(kind);
        *count = count.checked_sub(1).ok_or(RegistryError::Overflow)?;
        Ok(())
    }
}
