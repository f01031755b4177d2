use anchor_lang::prelude::*;

/// Written when a node leaves the active set in `epoch` while holding stake
/// added in that epoch: the node earned nothing at that epoch's close, so
/// that stake has nothing to skip and earns from the node's next active
/// epoch. Without it, stake added in an epoch skips that epoch's reward.
/// Only the instruction that takes the node out creates it, so nobody can
/// claim a forfeit that did not happen.
#[account]
#[derive(InitSpace, Debug)]
pub struct Forfeit {
    pub version: u8,
    pub bump: u8,
    pub node: Pubkey,
    pub epoch: u64,
    /// Stake added in `epoch` that the node held when it left.
    pub incoming: u64,
}

impl Forfeit {
    /// Writes the forfeit when a change took the node out while holding
    /// stake added this epoch (`forfeited`), into the account the caller
    /// passed for it. A forfeit passed when none happened is refused, so
    /// that none exists without the leave it stands for.
    pub fn record(
        account: Option<&mut Account<Forfeit>>,
        bump: Option<u8>,
        node: Pubkey,
        epoch: u64,
        forfeited: Option<u64>,
    ) -> Result<()> {
        match (forfeited, account, bump) {
            (Some(incoming), Some(account), Some(bump)) => {
                account.set_inner(Forfeit {
                    version: crate::constants::ACCOUNT_VERSION,
                    bump,
                    node,
                    epoch,
                    incoming,
                });
                Ok(())
            }
            (Some(_), _, _) => err!(crate::errors::StakingError::ForfeitRequired),
            (None, Some(_), _) => err!(crate::errors::StakingError::ForfeitNotNeeded),
            (None, None, _) => Ok(()),
        }
    }
}

/// Builds [`crate::state::Matured`] from the accounts an instruction was
/// given: the epoch record, and the forfeit address (its seeds checked by
/// the accounts struct), which counts only if this program wrote it.
pub fn matured<'a>(
    record: Option<&'a crate::state::EpochRecord>,
    forfeit: Option<&AccountInfo>,
) -> Option<crate::state::Matured<'a>> {
    let record = record?;
    let forfeit = forfeit?;
    Some(crate::state::Matured {
        record,
        forfeited: forfeit.owner == &crate::ID && !forfeit.data_is_empty(),
    })
}
