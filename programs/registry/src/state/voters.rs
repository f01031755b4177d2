use aether_staking::state::{Config as StakingConfig, Node as StakingNode};
use anchor_lang::prelude::*;

/// The keys among `nodes` (staking `Node` accounts passed after an
/// instruction's named accounts) that are not active in `config`'s epoch.
/// An account the staking program no longer owns, or that is not a staking
/// node, counts as inactive: its key is only ever dropped from a vote list
/// that holds it, and a staking node's address cannot be taken by anyone
/// else.
pub fn inactive_nodes(nodes: &[AccountInfo], config: &StakingConfig) -> Result<Vec<Pubkey>> {
    let mut inactive = Vec::with_capacity(nodes.len());
    for info in nodes {
        let active = *info.owner == aether_staking::ID
            && StakingNode::try_deserialize(&mut &info.try_borrow_data()?[..])
                .is_ok_and(|node| node.is_active_in(config));
        if !active {
            inactive.push(info.key());
        }
    }
    Ok(inactive)
}
