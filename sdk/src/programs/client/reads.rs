//! Reads of the programs' accounts: configurations, nodes, positions,
//! records, streams, domain bindings, the clock and batch logs.

use aether_anchors::state::{BatchLog, BatchWindow};
use aether_escrow::state::{EscrowConfig, Stream};
use aether_registry::state::{DomainBinding, NodeRecord};
use aether_staking::state::{Config as StakingConfig, Node, StakePosition};
use anchor_lang::prelude::Pubkey;
use solana_commitment_config::CommitmentConfig;

use super::{clock_unix_timestamp, rpc_error, AetherClient, ProgramClientError};
use crate::programs::{anchors, escrow, registry, staking};

impl AetherClient {
    /// The staking program's configuration.
    pub fn staking_config(&self) -> Result<StakingConfig, ProgramClientError> {
        self.account(aether_staking::ID, staking::config())?
            .ok_or(ProgramClientError::Missing("the staking config"))
    }

    /// The staking nodes among `nodes` that are not active in the current
    /// epoch (or no longer exist): the ones whose votes
    /// [`registry::dropping_inactive`] drops.
    pub fn inactive_nodes(&self, nodes: &[Pubkey]) -> Result<Vec<Pubkey>, ProgramClientError> {
        let config = self.staking_config()?;
        let mut inactive = Vec::new();
        for key in nodes {
            let node: Option<Node> = self.account(aether_staking::ID, *key)?;
            if !node.is_some_and(|n| n.is_active_in(&config)) {
                inactive.push(*key);
            }
        }
        Ok(inactive)
    }

    /// The staking node of `operator`.
    pub fn staking_node(&self, operator: &Pubkey) -> Result<Option<Node>, ProgramClientError> {
        self.account(aether_staking::ID, staking::node(operator))
    }

    /// `staker`'s position on the node of `operator`.
    pub fn stake_position(
        &self,
        operator: &Pubkey,
        staker: &Pubkey,
    ) -> Result<Option<StakePosition>, ProgramClientError> {
        self.account(
            aether_staking::ID,
            staking::position(&staking::node(operator), staker),
        )
    }

    /// The registry record of the node whose identity is `identity` (a core
    /// node's staking node, or a resource node's key).
    pub fn node_record(&self, identity: &Pubkey) -> Result<Option<NodeRecord>, ProgramClientError> {
        self.account(aether_registry::ID, registry::record(identity))
    }

    /// The stream `owner` opened for `resource`.
    pub fn stream(
        &self,
        owner: &Pubkey,
        resource: &[u8; 32],
    ) -> Result<Option<Stream>, ProgramClientError> {
        self.account(aether_escrow::ID, escrow::stream(owner, resource))
    }

    /// Every stream of the escrow program, with its address.
    pub fn streams(&self) -> Result<Vec<(Pubkey, Stream)>, ProgramClientError> {
        Ok(self
            .program(aether_escrow::ID)?
            .accounts::<Stream>(Vec::new())?)
    }

    /// Every node record of the registry, with its address.
    pub fn node_records(&self) -> Result<Vec<(Pubkey, NodeRecord)>, ProgramClientError> {
        Ok(self
            .program(aether_registry::ID)?
            .accounts::<NodeRecord>(Vec::new())?)
    }

    /// `owner`'s binding of a custom domain, if it ever requested one.
    pub fn domain_binding(
        &self,
        domain: &str,
        owner: &Pubkey,
    ) -> Result<Option<DomainBinding>, ProgramClientError> {
        self.account(aether_registry::ID, registry::domain_binding(domain, owner))
    }

    /// Every domain binding of the registry, with its address.
    pub fn domain_bindings(&self) -> Result<Vec<(Pubkey, DomainBinding)>, ProgramClientError> {
        Ok(self
            .program(aether_registry::ID)?
            .accounts::<DomainBinding>(Vec::new())?)
    }

    /// The escrow program's stake-token mint.
    pub fn escrow_mint(&self) -> Result<Pubkey, ProgramClientError> {
        Ok(self
            .account::<EscrowConfig>(aether_escrow::ID, escrow::config())?
            .ok_or(ProgramClientError::Missing("the escrow config"))?
            .mint)
    }

    /// The cluster's clock: its unix time, as programs see it.
    pub fn unix_timestamp(&self) -> Result<i64, ProgramClientError> {
        let rpc = self.program(aether_escrow::ID)?.rpc();
        let account = rpc
            .get_account(
                &<anchor_lang::prelude::Clock as anchor_lang::solana_program::sysvar::SysvarId>::id(
                ),
            )
            .map_err(rpc_error)?;
        clock_unix_timestamp(&account.data).ok_or(ProgramClientError::Missing("the clock sysvar"))
    }

    /// `submitter`'s window of recent batch roots in the anchors program.
    pub fn batch_log(&self, submitter: &Pubkey) -> Result<BatchWindow, ProgramClientError> {
        let rpc = self.program(aether_anchors::ID)?.rpc();
        let account = rpc
            .get_account_with_commitment(&anchors::log(submitter), CommitmentConfig::confirmed())
            .map_err(rpc_error)?
            .value
            .ok_or(ProgramClientError::Missing("the anchors batch log"))?;
        if account.owner != aether_anchors::ID {
            return Err(ProgramClientError::Malformed("the anchors batch log"));
        }
        BatchLog::decode(&account.data)
            .map_err(|_| ProgramClientError::Malformed("the anchors batch log"))
    }
}
