//! Every way to cheat a stream is refused with a named error and changes nothing.

use aether_escrow::errors::EscrowError;
use aether_escrow::state::{EscrowConfig, ServePolicy, StreamKind};
use aether_escrow::OpenStreamArgs;
use aether_program_testkit::solana_signer::Signer;
use aether_program_testkit::Keypair;
use aether_sdk::programs::escrow as eix;
use anchor_lang::error::ErrorCode as Anchor;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;

use super::common::*;

/// Sends `ix` signed by `signer`, expects `code`, and checks that neither
/// `stream` nor its vault changed.
async fn refused(
    w: &mut World,
    stream: Pubkey,
    ix: Instruction,
    signer: &Keypair,
    code: impl Into<u32>,
) {
    let watched = [stream, eix::vault(&stream)];
    w.s.chain
        .assert_refused(ix, &[signer], code, &watched)
        .await;
}

#[tokio::test]
async fn only_the_owner_and_the_provider_act_for_themselves() {
    let mut w = World::new().await;
    let user = w.s.wallet(100_000).await;
    let p = w.provider(1).await;
    let stream = w.open_joined(&user, [1; 32], 10, 2, 10_000, &[&p]).await;
    let mallory = w.s.wallet(100_000).await;
    let m = mallory.key.insecure_clone();
    let slots = w.stream(stream).await.providers;

    let ix = eix::remove_provider(m.pubkey(), p.record, w.s.mint, stream, &slots);
    refused(&mut w, stream, ix, &m, EscrowError::NotOwner).await;
    let ix = eix::close_stream(m.pubkey(), mallory.tokens, w.s.mint, stream, &slots);
    refused(&mut w, stream, ix, &m, EscrowError::NotOwner).await;
    let ix = eix::allow_providers(m.pubkey(), stream, vec![]);
    refused(&mut w, stream, ix, &m, EscrowError::NotOwner).await;
    // Mallory cannot make p leave, nor join as p into her own account.
    let ix = eix::leave_stream(m.pubkey(), p.record, w.s.mint, stream, &slots);
    refused(&mut w, stream, ix, &m, EscrowError::NotProviderOwner).await;
    let other = w.s.wallet(10_000).await;
    let stream2 = w.open(&other, [2; 32], 10, 2, 1_000).await.unwrap();
    let ix = eix::join_stream(m.pubkey(), p.record, mallory.tokens, w.s.mint, stream2, &[]);
    refused(&mut w, stream2, ix, &m, EscrowError::NotProviderOwner).await;
    // p must be paid into its owner's associated account, not another of its accounts.
    let pk = p.owner.key.insecure_clone();
    let ix = eix::join_stream(
        pk.pubkey(),
        p.record,
        p.owner.tokens,
        w.s.mint,
        stream2,
        &[],
    );
    refused(&mut w, stream2, ix, &pk, EscrowError::PayoutNotAssociated).await;
    // p cannot be paid into mallory's account.
    let pk = p.owner.key.insecure_clone();
    let ix = eix::join_stream(
        pk.pubkey(),
        p.record,
        mallory.tokens,
        w.s.mint,
        stream2,
        &[],
    );
    refused(&mut w, stream2, ix, &pk, EscrowError::WrongTokenOwner).await;
}

#[tokio::test]
async fn payouts_must_be_the_providers_own_in_order() {
    let mut w = World::new().await;
    let user = w.s.wallet(100_000).await;
    let (p1, p2) = (w.provider(1).await, w.provider(1).await);
    let stream = w
        .open_joined(&user, [1; 32], 10, 2, 10_000, &[&p1, &p2])
        .await;
    w.s.chain.advance(10).await;
    let payer = w.s.chain.ctx.payer.insecure_clone();
    let mut slots = w.stream(stream).await.providers;
    // Missing one.
    let ix = eix::settle(w.s.mint, stream, &slots[..1]);
    refused(&mut w, stream, ix, &payer, EscrowError::WrongPayoutAccounts).await;
    // Swapped.
    slots.swap(0, 1);
    let ix = eix::settle(w.s.mint, stream, &slots);
    refused(&mut w, stream, ix, &payer, EscrowError::WrongPayoutAccounts).await;
    // Someone else's account in a slot.
    let mallory = w.s.wallet(0).await;
    slots.swap(0, 1);
    slots[1].payout = mallory.tokens;
    let ix = eix::settle(w.s.mint, stream, &slots);
    refused(&mut w, stream, ix, &payer, EscrowError::WrongPayoutAccounts).await;
}

#[tokio::test]
async fn only_registered_resource_nodes_join() {
    let mut w = World::new().await;
    let user = w.s.wallet(100_000).await;
    let stream = w.open(&user, [1; 32], 10, 2, 10_000).await.unwrap();
    let p = w.provider(1).await;
    let pk = p.owner.key.insecure_clone();
    // A core node's record is not a resource node.
    let core_owner = w.s.wallet(0).await;
    let ix = eix::join_stream(
        core_owner.pubkey(),
        w.core_record,
        core_owner.tokens,
        w.s.mint,
        stream,
        &[],
    );
    refused(
        &mut w,
        stream,
        ix,
        &core_owner.key.insecure_clone(),
        EscrowError::NotResourceNode,
    )
    .await;
    // A copy of a real record, owned by another program.
    let other_program = Pubkey::new_unique();
    let fake_key = Pubkey::new_unique();
    w.s.chain
        .plant_copy(p.record, fake_key, Some(other_program))
        .await;
    let ix = eix::join_stream(pk.pubkey(), fake_key, p.owner.tokens, w.s.mint, stream, &[]);
    refused(&mut w, stream, ix, &pk, Anchor::AccountOwnedByWrongProgram).await;
    // Paid in another mint.
    let other_mint = w.s.chain.create_mint(6).await;
    let wrong =
        w.s.chain
            .create_token_account(other_mint, pk.pubkey())
            .await;
    let ix = eix::join_stream(pk.pubkey(), p.record, wrong, w.s.mint, stream, &[]);
    refused(&mut w, stream, ix, &pk, EscrowError::WrongMint).await;
}

#[tokio::test]
async fn bad_streams_are_refused() {
    let mut w = World::new().await;
    let user = w.s.wallet(100_000).await;
    let u = user.key.insecure_clone();
    let args = |rate, replicas, deposit| OpenStreamArgs {
        resource: [9; 32],
        kind: StreamKind::Storage,
        max_rate_per_second: rate,
        replicas,
        deposit,
        serve: ServePolicy::MinScore(0),
        allowed: Vec::new(),
        size_bytes: 1,
    };
    let stream = eix::stream(&u.pubkey(), &[9; 32]);
    for (a, code) in [
        (args(0, 1, 10), EscrowError::InvalidStream),
        (args(1, 0, 10), EscrowError::InvalidStream),
        (args(1, 9, 10), EscrowError::InvalidStream),
        (args(1, 1, 0), EscrowError::ZeroAmount),
    ] {
        let ix = eix::open_stream(u.pubkey(), w.s.mint, user.tokens, a);
        refused(&mut w, stream, ix, &u, code).await;
    }
    assert!(!w.s.chain.exists(stream).await);
    // A rate of u64::MAX per second does not overflow: it exhausts the vault.
    let stream = w.open(&user, [3; 32], u64::MAX, 1, 1_000).await.unwrap();
    let p = w.provider(0).await;
    w.join(&p, stream).await.unwrap();
    w.s.chain.advance(1_000_000).await;
    w.settle(stream).await.unwrap();
    assert_eq!(w.earned(&p).await, 1_000);
    assert!(w.stream(stream).await.exhausted);
}

#[tokio::test]
async fn a_closed_payout_account_is_recreated_by_anyone_and_settlement_goes_on() {
    use anchor_spl::token::spl_token;
    let mut w = World::new().await;
    let user = w.s.wallet(100_000).await;
    let p = w.provider(1).await;
    let stream = w.open_joined(&user, [4; 32], 10, 1, 10_000, &[&p]).await;
    // The provider closes its (empty) payout account: settlement cannot pay it.
    let pk = p.owner.key.insecure_clone();
    let close = spl_token::instruction::close_account(
        &spl_token::ID,
        &p.payout,
        &pk.pubkey(),
        &pk.pubkey(),
        &[],
    )
    .unwrap();
    w.s.chain.send(&[close], &[&pk]).await.unwrap();
    w.s.chain.advance(10).await;
    assert!(w.settle(stream).await.is_err());
    // Anyone recreates it (it is an associated account), and the stream pays again.
    w.s.chain
        .create_associated_token_account(w.s.mint, pk.pubkey())
        .await;
    w.settle(stream).await.unwrap();
    assert_eq!(w.earned(&p).await, 100);
}

#[tokio::test]
async fn a_newcomer_may_not_push_others_under_their_price() {
    let mut w = World::new().await;
    let user = w.s.wallet(100_000).await;
    let (a, b, c) = (
        w.provider(40).await,
        w.provider(10).await,
        w.provider(1).await,
    );
    // a and b join at 50 each: a's 40 still met.
    let stream = w
        .open_joined(&user, [5; 32], 100, 3, 10_000, &[&a, &b])
        .await;
    // c asks only 1/s, but a third share (33/s) would put a under its 40/s.
    let slots = w.stream(stream).await.providers;
    let ck = c.owner.key.insecure_clone();
    let ix = eix::join_stream(ck.pubkey(), c.record, c.payout, w.s.mint, stream, &slots);
    refused(&mut w, stream, ix, &ck, EscrowError::PriceTooLow).await;
}

#[tokio::test]
async fn tokens_sent_straight_to_a_vault_do_not_break_settlement() {
    use anchor_spl::token::spl_token;
    let mut w = World::new().await;
    let user = w.s.wallet(100_000).await;
    let p = w.provider(1).await;
    let stream = w.open_joined(&user, [6; 32], 10, 1, 1_000, &[&p]).await;
    // 500 arrive without top_up.
    let uk = user.key.insecure_clone();
    let gift = spl_token::instruction::transfer(
        &spl_token::ID,
        &user.tokens,
        &eix::vault(&stream),
        &uk.pubkey(),
        &[],
        500,
    )
    .unwrap();
    w.s.chain.send(&[gift], &[&uk]).await.unwrap();
    // Far more time than the deposit pays for: the provider gets the deposit,
    // not the gift, and the stream is exhausted.
    w.s.chain.advance(1_000).await;
    w.settle(stream).await.unwrap();
    assert_eq!(w.earned(&p).await, 1_000);
    assert!(w.stream(stream).await.exhausted);
    // Closing gives the gift back to the owner.
    let before = w.balance(&user).await;
    w.close(&user, stream).await.unwrap();
    assert_eq!(w.balance(&user).await - before, 500);
}

#[tokio::test]
async fn the_authority_changes_hands_in_two_steps() {
    let mut w = World::new().await;
    let payer = w.s.chain.ctx.payer.insecure_clone();
    let (next, mallory) = (Keypair::new(), Keypair::new());
    // A refusal leaves the config as it was.
    async fn refused_config(w: &mut World, ix: Instruction, signer: &Keypair, code: EscrowError) {
        w.s.chain
            .assert_refused(ix, &[signer], code, &[eix::config()])
            .await;
    }
    let ix = eix::update_config(mallory.pubkey(), mallory.pubkey());
    refused_config(&mut w, ix, &mallory, EscrowError::Unauthorized).await;
    let ix = eix::accept_authority(mallory.pubkey());
    refused_config(&mut w, ix, &mallory, EscrowError::NotPendingAuthority).await;
    w.s.chain
        .assert_proposed::<EscrowConfig>(
            eix::update_config(payer.pubkey(), next.pubkey()),
            payer.pubkey(),
            next.pubkey(),
        )
        .await;
    let ix = eix::accept_authority(mallory.pubkey());
    refused_config(&mut w, ix, &mallory, EscrowError::NotPendingAuthority).await;
    w.s.chain
        .assert_accepted::<EscrowConfig>(eix::accept_authority(next.pubkey()), &next)
        .await;
    let ix = eix::update_config(payer.pubkey(), payer.pubkey());
    refused_config(&mut w, ix, &payer, EscrowError::Unauthorized).await;
}
