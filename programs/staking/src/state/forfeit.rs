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

/// The accounts [`Forfeit::record`] writes with: the forfeit address
/// (seeds checked by the instruction's accounts struct), who pays for it,
/// and the system program.
pub struct ForfeitSlot<'a, 'info> {
    pub account: &'a AccountInfo<'info>,
    pub bump: u8,
    pub payer: &'a AccountInfo<'info>,
    pub system_program: &'a AccountInfo<'info>,
}

impl Forfeit {
    /// Writes the forfeit when a change took the node out while holding
    /// stake added this epoch (`forfeited`); does nothing otherwise.
    ///
    /// Every instruction that can take a node out is given the address
    /// whether or not it turns out to be needed, and decides here. Were the
    /// caller to decide, anyone could flip that decision between the
    /// caller's read and its transaction (one unit of stake added first
    /// does it) and make every leaving unstake or close fail.
    pub fn record(
        slot: ForfeitSlot<'_, '_>,
        node: Pubkey,
        epoch: u64,
        forfeited: Option<u64>,
    ) -> Result<()> {
        let Some(incoming) = forfeited else {
            return Ok(());
        };
        let account = slot.account;
        let forfeit = if account.owner == &crate::ID && !account.data_is_empty() {
            // A node cannot come back within the epoch it left, so this
            // does not happen today; if it ever does, the node still
            // earned nothing at this close, and the stake adds up.
            let mut held = Forfeit::try_deserialize(&mut &account.try_borrow_data()?[..])?;
            crate::math::add_to(&mut held.incoming, incoming)?;
            held
        } else {
            create(&slot, node, epoch)?;
            Forfeit {
                version: crate::constants::ACCOUNT_VERSION,
                bump: slot.bump,
                node,
                epoch,
                incoming,
            }
        };
        let mut data = account.try_borrow_mut_data()?;
        forfeit.try_serialize(&mut &mut data[..])
    }
}

/// Creates the forfeit account at its address. Anyone can send lamports to
/// an address before it exists, so a funded address is topped up,
/// allocated and assigned instead of created (which would fail).
fn create(slot: &ForfeitSlot<'_, '_>, node: Pubkey, epoch: u64) -> Result<()> {
    use anchor_lang::system_program::{self, Allocate, Assign, CreateAccount, Transfer};
    let space = 8 + Forfeit::INIT_SPACE;
    let rent = Rent::get()?.minimum_balance(space);
    let epoch = epoch.to_le_bytes();
    let bump = [slot.bump];
    let seeds: &[&[u8]] = &[crate::constants::SEED_FORFEIT, node.as_ref(), &epoch, &bump];
    let signer = &[seeds];
    let program = slot.system_program.key();
    let held = slot.account.lamports();
    if held == 0 {
        let accounts = CreateAccount {
            from: slot.payer.clone(),
            to: slot.account.clone(),
        };
        let cpi = CpiContext::new_with_signer(program, accounts, signer);
        return system_program::create_account(cpi, rent, space as u64, &crate::ID);
    }
    if let Some(short) = rent.checked_sub(held).filter(|s| *s > 0) {
        let accounts = Transfer {
            from: slot.payer.clone(),
            to: slot.account.clone(),
        };
        system_program::transfer(CpiContext::new(program, accounts), short)?;
    }
    let accounts = Allocate {
        account_to_allocate: slot.account.clone(),
    };
    system_program::allocate(
        CpiContext::new_with_signer(program, accounts, signer),
        space as u64,
    )?;
    let accounts = Assign {
        account_to_assign: slot.account.clone(),
    };
    system_program::assign(
        CpiContext::new_with_signer(program, accounts, signer),
        &crate::ID,
    )
}

/// Builds [`crate::state::Matured`] from the accounts an instruction was
/// given: the epoch record, and the forfeit address (its seeds checked by
/// the accounts struct), which counts only if this program wrote it.
pub fn matured<'a>(
    record: &'a Option<Box<Account<'_, crate::state::EpochRecord>>>,
    forfeit: &Option<UncheckedAccount<'_>>,
) -> Option<crate::state::Matured<'a>> {
    let record = record.as_deref().map(|r| &**r)?;
    let forfeit = forfeit.as_ref()?;
    Some(crate::state::Matured {
        record,
        forfeited: forfeit.owner == &crate::ID && !forfeit.data_is_empty(),
    })
}
