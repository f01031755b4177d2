//! Who may anchor, and what a batch must be: every refusal is named and changes nothing.

use aether_anchors::errors::AnchorsError;
use aether_anchors::state::AnchorsConfig;
use aether_program_testkit::solana_signer::Signer;
use aether_program_testkit::{registry as rix, staking as six, update, Keypair};
use aether_sdk::programs::anchors as aix;
use anchor_lang::error::ErrorCode as Anchor;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;

use super::common::*;

/// Sends `ix` signed by `signer`, expects `code`, and checks that neither
/// the signer's nor the payer's log nor the config changed.
async fn refused(w: &mut World, ix: Instruction, signer: &Keypair, code: impl Into<u32>) {
    let watched = [
        aix::log(&signer.pubkey()),
        aix::log(&w.s.chain.payer()),
        aix::config(),
    ];
    w.s.chain
        .assert_refused(ix, &[signer], code, &watched)
        .await;
}

#[tokio::test]
async fn only_active_core_nodes_and_allowlisted_keys_anchor() {
    let mut w = World::new().await;
    let (_, _, root) = batch("x", 4);
    let mallory = w.s.wallet(0).await;
    let m = keypair(&mallory);
    // Neither allowlisted nor a core node.
    refused(
        &mut w,
        aix::submit_batch_allowlisted(m.pubkey(), root, 4, b"c".to_vec()),
        &m,
        AnchorsError::NotAllowed,
    )
    .await;
    // A registered core node that is not active.
    let idle = keypair(&w.idle);
    refused(
        &mut w,
        aix::submit_batch(idle.pubkey(), true, root, 4, b"c".to_vec()),
        &idle,
        AnchorsError::NotAllowed,
    )
    .await;
    // Mallory shows the active node's accounts as hers.
    let mut ix = aix::submit_batch(m.pubkey(), true, root, 4, b"c".to_vec());
    let core_node = six::node(&w.core.pubkey());
    ix.accounts[4].pubkey = core_node;
    ix.accounts[5].pubkey = rix::record(&core_node);
    refused(&mut w, ix, &m, AnchorsError::NotAllowed).await;
    // A staking node copied under another program's ownership.
    let other_program = Pubkey::new_unique();
    let fake_key = Pubkey::new_unique();
    w.s.chain
        .plant_copy(core_node, fake_key, Some(other_program))
        .await;
    let core = keypair(&w.core);
    let mut ix = aix::submit_batch(core.pubkey(), true, root, 4, b"c".to_vec());
    ix.accounts[4].pubkey = fake_key;
    refused(&mut w, ix, &core, Anchor::AccountOwnedByWrongProgram).await;
}

#[tokio::test]
async fn malformed_batches_are_refused() {
    let mut w = World::new().await;
    let payer = w.s.chain.ctx.payer.insecure_clone();
    let (_, _, root) = batch("x", 4);
    refused(
        &mut w,
        aix::submit_batch_allowlisted(payer.pubkey(), root, 0, b"c".to_vec()),
        &payer,
        AnchorsError::EmptyBatch,
    )
    .await;
    refused(
        &mut w,
        aix::submit_batch_allowlisted(payer.pubkey(), root, 4, Vec::new()),
        &payer,
        AnchorsError::InvalidContentId,
    )
    .await;
    refused(
        &mut w,
        aix::submit_batch_allowlisted(payer.pubkey(), root, 4, vec![b'x'; 65]),
        &payer,
        AnchorsError::InvalidContentId,
    )
    .await;
    w.s.chain
        .send(
            &[aix::submit_batch_allowlisted(
                payer.pubkey(),
                root,
                4,
                vec![b'x'; 64],
            )],
            &[],
        )
        .await
        .expect("64 bytes is the limit, not over it");
    let proof = aix::merkle::MerkleProof {
        index: 0,
        siblings: vec![],
    };
    refused(
        &mut w,
        aix::verify_inclusion(&payer.pubkey(), 1, Vec::new(), proof.clone()),
        &payer,
        AnchorsError::InvalidItemHash,
    )
    .await;
    refused(
        &mut w,
        aix::verify_inclusion(&payer.pubkey(), 1, vec![b'a'; 129], proof.clone()),
        &payer,
        AnchorsError::InvalidItemHash,
    )
    .await;
    // A copy of the payer's log at another address: its seeds do not match
    // the submitter it names.
    let fake = Pubkey::new_unique();
    w.s.chain
        .plant_copy(aix::log(&payer.pubkey()), fake, None)
        .await;
    let mut ix = aix::verify_inclusion(&payer.pubkey(), 1, b"x".to_vec(), proof);
    ix.accounts[0].pubkey = fake;
    refused(&mut w, ix, &payer, Anchor::ConstraintSeeds).await;
}

#[tokio::test]
async fn only_the_authority_changes_the_allowlist() {
    let mut w = World::new().await;
    let mallory = w.s.wallet(0).await;
    let m = keypair(&mallory);
    refused(
        &mut w,
        update::anchors_allow(m.pubkey(), vec![m.pubkey()]),
        &m,
        AnchorsError::Unauthorized,
    )
    .await;
    let payer = w.s.chain.ctx.payer.insecure_clone();
    let too_many = (0..16).map(|_| Pubkey::new_unique()).collect();
    refused(
        &mut w,
        update::anchors_allow(payer.pubkey(), too_many),
        &payer,
        AnchorsError::AllowlistFull,
    )
    .await;
    // The authority allows mallory, who can then anchor; then revokes her.
    w.s.chain
        .send(
            &[update::anchors_allow(payer.pubkey(), vec![m.pubkey()])],
            &[],
        )
        .await
        .unwrap();
    let (_, _, root) = batch("m", 1);
    w.s.chain
        .send(
            &[aix::submit_batch_allowlisted(
                m.pubkey(),
                root,
                1,
                b"c".to_vec(),
            )],
            &[&m],
        )
        .await
        .unwrap();
    w.s.chain
        .send(
            &[update::anchors_revoke(payer.pubkey(), vec![m.pubkey()])],
            &[],
        )
        .await
        .unwrap();
    refused(
        &mut w,
        aix::submit_batch_allowlisted(m.pubkey(), root, 1, b"c".to_vec()),
        &m,
        AnchorsError::NotAllowed,
    )
    .await;
}

#[tokio::test]
async fn the_authority_changes_hands_in_two_steps() {
    let mut w = World::new().await;
    let payer = w.s.chain.ctx.payer.insecure_clone();
    let (next, mallory) = (Keypair::new(), Keypair::new());
    let propose = |to: Pubkey| update::anchors_authority(payer.pubkey(), to);
    let accept = aix::accept_authority;
    refused(
        &mut w,
        accept(mallory.pubkey()),
        &mallory,
        AnchorsError::NotPendingAuthority,
    )
    .await;
    w.s.chain
        .assert_proposed::<AnchorsConfig>(propose(next.pubkey()), payer.pubkey(), next.pubkey())
        .await;
    refused(
        &mut w,
        accept(mallory.pubkey()),
        &mallory,
        AnchorsError::NotPendingAuthority,
    )
    .await;
    w.s.chain
        .assert_accepted::<AnchorsConfig>(accept(next.pubkey()), &next)
        .await;
    refused(
        &mut w,
        propose(payer.pubkey()),
        &payer,
        AnchorsError::Unauthorized,
    )
    .await;
    refused(
        &mut w,
        accept(next.pubkey()),
        &next,
        AnchorsError::NotPendingAuthority,
    )
    .await;
}
