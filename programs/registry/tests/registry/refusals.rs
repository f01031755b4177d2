//! Every way to cheat the registry is refused with a named error and changes nothing.

use aether_program_testkit::solana_signer::Signer;
use aether_program_testkit::{registry as rix, staking as six, update, Keypair};
use aether_registry::errors::RegistryError;
use aether_registry::state::RegistryConfig;
use aether_registry::UpdateNodeArgs;
use anchor_lang::error::ErrorCode as Anchor;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;

use super::common::*;

/// Sends `ix` signed by `signers`, expects `code`, and checks that neither
/// the config nor the resource node's, a's or d's record changed.
async fn refused(w: &mut World, ix: Instruction, signers: &[&Keypair], code: impl Into<u32>) {
    let watched = [
        rix::config(),
        w.resource,
        World::core_record(&w.a),
        World::core_record(&w.d),
    ];
    w.s.chain.assert_refused(ix, signers, code, &watched).await;
}

#[tokio::test]
async fn score_reports_are_checked() {
    let mut w = World::new().await;
    let (a, d) = (w.a.key.insecure_clone(), w.d.key.insecure_clone());
    let resource = w.resource;
    // From an inactive core node (under the activation threshold).
    let ix = rix::report_score(w.d.pubkey(), resource, 1, 5_000);
    refused(&mut w, ix, &[&d], RegistryError::ReporterNotActive).await;
    let b = w.b.key.insecure_clone();
    // For another epoch than the current one.
    let ix = rix::report_score(w.b.pubkey(), resource, 0, 5_000);
    refused(&mut w, ix, &[&b], RegistryError::WrongEpoch).await;
    let ix = rix::report_score(w.b.pubkey(), resource, 2, 5_000);
    refused(&mut w, ix, &[&b], RegistryError::WrongEpoch).await;
    // Out of range.
    let ix = rix::report_score(w.b.pubkey(), resource, 1, 10_001);
    refused(&mut w, ix, &[&b], RegistryError::ScoreOutOfRange).await;
    // About itself.
    let ix = rix::report_score(w.a.pubkey(), World::core_record(&w.a), 1, 10_000);
    refused(&mut w, ix, &[&a], RegistryError::SelfReport).await;
    // About a resource node it parents (a is the resource node's parent).
    let ix = rix::report_score(w.a.pubkey(), resource, 1, 10_000);
    refused(&mut w, ix, &[&a], RegistryError::ConflictOfInterest).await;
    // About a resource node its operator owns, under another parent.
    let owned = Keypair::new();
    let c = w.c.key.insecure_clone();
    w.s.chain
        .send(
            &[rix::register_resource_node(
                w.c.pubkey(),
                owned.pubkey(),
                World::core_record(&w.b),
                w.b.pubkey(),
                resource_args(),
            )],
            &[&c, &owned, &b],
        )
        .await
        .unwrap();
    let ix = rix::report_score(w.c.pubkey(), rix::record(&owned.pubkey()), 1, 10_000);
    refused(&mut w, ix, &[&c], RegistryError::ConflictOfInterest).await;
    // Twice in one epoch.
    report(&mut w.s, &w.b, resource, 1, 5_000).await.unwrap();
    let ix = rix::report_score(w.b.pubkey(), resource, 1, 9_000);
    refused(&mut w, ix, &[&b], RegistryError::DuplicateReport).await;
    // With someone else's staking node: seeds are derived from the signer.
    let mallory = w.s.wallet(0).await;
    let mut ix = rix::report_score(mallory.pubkey(), resource, 1, 0);
    ix.accounts[3].pubkey = six::node(&w.b.pubkey());
    refused(&mut w, ix, &[&mallory.key], Anchor::ConstraintSeeds).await;
}

#[tokio::test]
async fn fake_staking_accounts_are_refused() {
    let mut w = World::new().await;
    let mallory = w.s.wallet(0).await;
    // A copy of a's active staking node, owned by another program, planted
    // at the address mallory's node would have.
    let a_node = six::node(&w.a.pubkey());
    let other_program = Pubkey::new_unique();
    w.s.chain
        .plant_copy(a_node, six::node(&mallory.pubkey()), Some(other_program))
        .await;
    let ix = rix::report_score(mallory.pubkey(), w.resource, 1, 0);
    refused(
        &mut w,
        ix,
        &[&mallory.key],
        Anchor::AccountOwnedByWrongProgram,
    )
    .await;
    let ix = rix::register_core_node(mallory.pubkey(), core_args("mallory"));
    refused(
        &mut w,
        ix,
        &[&mallory.key],
        Anchor::AccountOwnedByWrongProgram,
    )
    .await;

    // A copy of the staking config, owned by the staking program, but not at its address.
    let fake_config = Pubkey::new_unique();
    w.s.chain.plant_copy(six::config(), fake_config, None).await;
    let a = w.a.key.insecure_clone();
    let mut ix = rix::report_score(w.a.pubkey(), w.resource, 1, 0);
    ix.accounts[2].pubkey = fake_config;
    refused(&mut w, ix, &[&a], Anchor::ConstraintSeeds).await;
}

#[tokio::test]
async fn registrations_are_checked() {
    let mut w = World::new().await;
    let mallory = w.s.wallet(0).await;
    // Registering someone else's (unregistered) staking node as mallory's core node.
    let e = w.s.wallet(1_000_000 * T).await;
    let e_node = w.s.create_node(&e, 200_000 * T).await.unwrap();
    let mut ix = rix::register_core_node(mallory.pubkey(), core_args("m"));
    ix.accounts[2].pubkey = e_node;
    ix.accounts[3].pubkey = rix::record(&e_node);
    refused(&mut w, ix, &[&mallory.key], Anchor::ConstraintSeeds).await;
    // Twice: the record exists.
    let a = w.a.key.insecure_clone();
    let ix = rix::register_core_node(w.a.pubkey(), core_args("a"));
    assert!(w.s.chain.send(&[ix], &[&a]).await.is_err());

    // A resource node under a resource node.
    let id = Keypair::new();
    let ix = rix::register_resource_node(
        mallory.pubkey(),
        id.pubkey(),
        w.resource,
        mallory.pubkey(),
        resource_args(),
    );
    refused(
        &mut w,
        ix,
        &[&mallory.key, &id],
        RegistryError::ParentNotCore,
    )
    .await;
    // Under a's core node without a's consent: mallory signs as the parent
    // operator, or a's key is named but does not sign.
    let (m, node, a_record) = (mallory.pubkey(), id.pubkey(), World::core_record(&w.a));
    let under_a =
        |operator: Pubkey, args| rix::register_resource_node(m, node, a_record, operator, args);
    let ix = under_a(mallory.pubkey(), resource_args());
    refused(
        &mut w,
        ix,
        &[&mallory.key, &id],
        RegistryError::NoParentConsent,
    )
    .await;
    let mut ix = under_a(w.a.pubkey(), resource_args());
    ix.accounts[2].is_signer = false;
    refused(&mut w, ix, &[&mallory.key, &id], Anchor::AccountNotSigner).await;
    // Without the node key's signature.
    let mut ix = under_a(w.a.pubkey(), resource_args());
    ix.accounts[1].is_signer = false;
    refused(&mut w, ix, &[&mallory.key, &a], Anchor::AccountNotSigner).await;
    // An endpoint longer than 128 bytes, and no capacity.
    let mut args = resource_args();
    args.endpoint = format!("https://{}.test", "x".repeat(130));
    let ix = under_a(w.a.pubkey(), args);
    refused(
        &mut w,
        ix,
        &[&mallory.key, &id, &a],
        RegistryError::InvalidAddress,
    )
    .await;
    let mut args = resource_args();
    args.capacity.vcpus = 0;
    let ix = under_a(w.a.pubkey(), args);
    refused(
        &mut w,
        ix,
        &[&mallory.key, &id, &a],
        RegistryError::InvalidCapacity,
    )
    .await;
    // With a's consent it registers.
    let ix = under_a(w.a.pubkey(), resource_args());
    w.s.chain
        .send(&[ix], &[&mallory.key, &id, &a])
        .await
        .unwrap();
}

#[tokio::test]
async fn only_owners_update_and_deregister() {
    let mut w = World::new().await;
    let mallory = w.s.wallet(0).await;
    let resource = w.resource;
    let ix = rix::update_node(
        mallory.pubkey(),
        resource,
        None,
        UpdateNodeArgs {
            endpoint: Some("https://evil.test".into()),
            ..Default::default()
        },
    );
    refused(&mut w, ix, &[&mallory.key], RegistryError::NotOwner).await;
    let ix = rix::deregister_node(mallory.pubkey(), resource);
    refused(&mut w, ix, &[&mallory.key], RegistryError::NotOwner).await;
    // Fields of the other kind, and nothing at all.
    let owner = w.owner.key.insecure_clone();
    let ix = rix::update_node(
        w.owner.pubkey(),
        resource,
        None,
        UpdateNodeArgs {
            p2p_address: Some("/ip4/1.2.3.4/tcp/1".into()),
            ..Default::default()
        },
    );
    refused(&mut w, ix, &[&owner], RegistryError::WrongNodeKind).await;
    // Moving under b without b's consent: b is named but does not sign.
    let mut ix = rix::update_node(
        w.owner.pubkey(),
        resource,
        Some(w.b.pubkey()),
        UpdateNodeArgs {
            move_to_parent: true,
            ..Default::default()
        },
    );
    ix.accounts[3].is_signer = false;
    refused(&mut w, ix, &[&owner], Anchor::AccountNotSigner).await;
    let ix = rix::update_node(w.owner.pubkey(), resource, None, UpdateNodeArgs::default());
    refused(&mut w, ix, &[&owner], RegistryError::NothingToUpdate).await;
    let a = w.a.key.insecure_clone();
    let ix = rix::update_node(
        w.a.pubkey(),
        World::core_record(&w.a),
        None,
        UpdateNodeArgs {
            min_price_compute_per_second: Some(1),
            ..Default::default()
        },
    );
    refused(&mut w, ix, &[&a], RegistryError::WrongNodeKind).await;
    // Only the authority changes the quorum, and only to a sane value.
    let ix = update::registry_quorum(mallory.pubkey(), 1);
    refused(&mut w, ix, &[&mallory.key], RegistryError::Unauthorized).await;
    let payer = w.s.chain.ctx.payer.insecure_clone();
    let ix = update::registry_quorum(payer.pubkey(), 10_001);
    refused(&mut w, ix, &[&payer], RegistryError::InvalidQuorum).await;
    // Half is not a majority: two opposite quorums could form.
    let ix = update::registry_quorum(payer.pubkey(), 5_000);
    refused(&mut w, ix, &[&payer], RegistryError::InvalidQuorum).await;
}

#[tokio::test]
async fn the_authority_changes_hands_in_two_steps() {
    let mut w = World::new().await;
    let payer = w.s.chain.ctx.payer.insecure_clone();
    let (next, mallory) = (Keypair::new(), Keypair::new());
    // Nobody takes an authority that was not offered.
    let ix = rix::accept_authority(mallory.pubkey());
    refused(&mut w, ix, &[&mallory], RegistryError::NotPendingAuthority).await;
    // Proposing changes nothing yet: the authority is still the payer.
    let propose = |to: Pubkey| update::registry_authority(payer.pubkey(), to);
    w.s.chain
        .assert_proposed::<RegistryConfig>(propose(next.pubkey()), payer.pubkey(), next.pubkey())
        .await;
    // Only the proposed key accepts.
    let ix = rix::accept_authority(mallory.pubkey());
    refused(&mut w, ix, &[&mallory], RegistryError::NotPendingAuthority).await;
    w.s.chain
        .assert_accepted::<RegistryConfig>(rix::accept_authority(next.pubkey()), &next)
        .await;
    // The old authority is out, and the spent proposal cannot be replayed.
    refused(
        &mut w,
        propose(payer.pubkey()),
        &[],
        RegistryError::Unauthorized,
    )
    .await;
    let ix = rix::accept_authority(next.pubkey());
    refused(&mut w, ix, &[&next], RegistryError::NotPendingAuthority).await;
}
