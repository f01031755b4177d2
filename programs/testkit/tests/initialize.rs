//! Only a program's upgrade authority, as its ProgramData names it, may
//! initialize it: a stranger who calls first is refused with a named error
//! and creates nothing, and an account at the ProgramData address that the
//! upgradeable loader does not own counts for nothing.
//!
//! The programs run here as native builtins, so no deploy wrote their
//! ProgramData: the test chain writes it as a deploy would (see
//! `Chain::set_program_data`). The check itself is the program's own.

use aether_program_testkit::solana_signer::Signer;
use aether_program_testkit::{assert_error, Chain};
use aether_sdk::programs::{anchors, escrow, program_data, program_data_header, registry, staking};
use anchor_lang::error::ErrorCode as Anchor;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;

/// Each program's `initialize` by `who`, its config address and the error a
/// stranger gets.
fn initializers(who: Pubkey, mint: Pubkey) -> [(Instruction, Pubkey, u32); 4] {
    [
        (
            staking::initialize(who, mint, aether_staking::state::Params::default()),
            staking::config(),
            aether_staking::errors::StakingError::NotUpgradeAuthority.into(),
        ),
        (
            registry::initialize(who, 6_667),
            registry::config(),
            aether_registry::errors::RegistryError::NotUpgradeAuthority.into(),
        ),
        (
            escrow::initialize(who, mint),
            escrow::config(),
            aether_escrow::errors::EscrowError::NotUpgradeAuthority.into(),
        ),
        (
            anchors::initialize(who, vec![who]),
            anchors::config(),
            aether_anchors::errors::AnchorsError::NotUpgradeAuthority.into(),
        ),
    ]
}

#[tokio::test]
async fn only_the_upgrade_authority_initializes() {
    let mut chain = Chain::start().await;
    let stranger = chain.funded_keypair(10_000_000_000).await;
    let mint = chain.create_mint(6).await;

    // The stranger calls first: refused, nothing created.
    for (ix, config, code) in initializers(stranger.pubkey(), mint) {
        assert_error(chain.send(&[ix], &[&stranger]).await, code);
        assert!(!chain.exists(config).await);
    }

    // A ProgramData look-alike naming the stranger, owned by another
    // program than the loader: refused as well.
    let address = program_data(&aether_staking::ID);
    let real = chain.raw(address).await;
    let header = program_data_header(&stranger.pubkey());
    let mut fake = solana_account::AccountSharedData::new(
        1_000_000_000,
        header.len(),
        &anchor_lang::system_program::ID,
    );
    solana_account::WritableAccount::data_as_mut_slice(&mut fake).copy_from_slice(&header);
    chain.ctx.set_account(&address, &fake);
    let (ix, config, _) = initializers(stranger.pubkey(), mint)
        .into_iter()
        .next()
        .unwrap();
    assert_error(
        chain.send(&[ix], &[&stranger]).await,
        Anchor::AccountOwnedByWrongProgram,
    );
    assert!(!chain.exists(config).await);
    let payer = chain.payer();
    chain.set_program_data(&aether_staking::ID, &payer);
    assert_eq!(chain.raw(address).await, real);

    // The upgrade authority initializes each program.
    for (ix, config, _) in initializers(payer, mint) {
        chain.send(&[ix], &[]).await.expect("the upgrade authority");
        assert!(chain.exists(config).await);
    }
}
