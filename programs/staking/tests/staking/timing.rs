//! Stake added to an active node mid-epoch did not back that epoch: it earns
//! from the next one, and its owner gains nothing by staking just before a
//! crank. When the node leaves the active set in the epoch the stake came
//! in, the node itself earned nothing at that close, so the stake earns from
//! the node's return, exactly as the stake that was already there.

use aether_program_testkit::{assert_error, find_event, staking as ix};
use aether_staking::errors::StakingError;
use aether_staking::events::Staked;
use aether_staking::state::{Forfeit, StakePosition};
use anchor_lang::error::ErrorCode as Anchor;
use anchor_lang::prelude::Pubkey;

use super::common::*;

/// Sends `ix` signed by `signer`, expects `code`, and checks that none of
/// `watched` changed.
async fn refused(
    s: &mut Setup,
    ix: anchor_lang::solana_program::instruction::Instruction,
    signer: &Wallet,
    code: impl Into<u32>,
    watched: &[Pubkey],
) {
    let mut before = Vec::new();
    for key in watched {
        before.push(s.chain.raw(*key).await);
    }
    assert_error(s.chain.send(&[ix], &[&signer.key]).await, code);
    for (key, was) in watched.iter().zip(before) {
        assert_eq!(s.chain.raw(*key).await, was, "{key} changed");
    }
}

#[tokio::test]
async fn stake_added_in_the_last_minute_earns_from_the_next_epoch() {
    let mut s = Setup::new(params()).await;
    s.fund(100_000 * T).await.unwrap();
    let op = s.wallet(1_000_000 * T).await;
    let late = s.wallet(1_000_000 * T).await;
    let node = s.create_node(&op, 500_000 * T).await.unwrap();
    s.next_epoch().await; // active in epoch 1

    // A minute before epoch 1 ends, as much stake again arrives.
    s.chain.advance(DAY - 60).await;
    let catch_up = s.catch_up(&node, &late.pubkey()).await;
    let events = s
        .chain
        .send(
            &[ix::stake(
                late.pubkey(),
                node,
                s.mint,
                late.tokens,
                catch_up,
                500_000 * T,
            )],
            &[&late.key],
        )
        .await
        .unwrap();
    let staked: Staked = find_event(&events).expect("Staked event");
    assert_eq!(staked.earning_from_epoch, 2);
    assert_eq!(staked.position_amount, 500_000 * T);
    let config = s.config().await;
    assert_eq!(
        (config.active_stake, config.incoming_stake),
        (500_000 * T, 500_000 * T)
    );

    // Epoch 1's 2,500 for stakers all go to the stake that was there.
    s.next_epoch().await;
    assert_eq!(s.record(1).await.active_stake, 500_000 * T);
    let config = s.config().await;
    assert_eq!(
        (config.active_stake, config.incoming_stake),
        (1_000_000 * T, 0)
    );
    assert_eq!(s.claim(&op, node).await.unwrap(), 1_000 * T + 2_500 * T);

    // The late position needs epoch 1's record and the node's forfeit
    // address for epoch 1 to start earning; the wrong ones are refused.
    let position = ix::position(&node, &late.pubkey());
    let watched = [ix::config(), node, position, late.tokens];
    let claim = |catch_up| ix::claim_rewards(late.pubkey(), node, s.mint, late.tokens, catch_up);
    let missing = claim(ix::CatchUp::default());
    let wrong_record = claim(ix::CatchUp {
        activation_record: None,
        incoming: Some((ix::epoch_record(0), ix::forfeit(&node, 1))),
    });
    let wrong_forfeit = claim(ix::CatchUp {
        activation_record: None,
        incoming: Some((ix::epoch_record(1), ix::forfeit(&node, 0))),
    });
    refused(
        &mut s,
        missing,
        &late,
        StakingError::IncomingRecordRequired,
        &watched,
    )
    .await;
    refused(
        &mut s,
        wrong_record,
        &late,
        StakingError::WrongIncomingRecord,
        &watched,
    )
    .await;
    refused(
        &mut s,
        wrong_forfeit,
        &late,
        Anchor::ConstraintSeeds,
        &watched,
    )
    .await;
    // With the right ones: it earned nothing in epoch 1.
    assert_error(s.claim(&late, node).await, StakingError::NothingToClaim);

    // Lamports sent to the forfeit address do not make a forfeit: only the
    // program writes one, when the node really leaves.
    let payer = s.chain.payer();
    s.chain
        .send(
            &[anchor_lang::solana_program::system_instruction::transfer(
                &payer,
                &ix::forfeit(&node, 1),
                10_000_000,
            )],
            &[],
        )
        .await
        .unwrap();

    // Epoch 2: the 2,500 split evenly over the two 500,000.
    s.next_epoch().await;
    assert_eq!(s.claim(&late, node).await.unwrap(), 1_250 * T);
    assert_eq!(s.claim(&op, node).await.unwrap(), 1_000 * T + 1_250 * T);
    let p: StakePosition = s.chain.account(position).await;
    assert_eq!((p.amount, p.incoming), (500_000 * T, 0));
}

#[tokio::test]
async fn stake_on_a_node_that_leaves_in_its_epoch_earns_from_the_node_return() {
    let mut s = Setup::new(params()).await;
    s.fund(100_000 * T).await.unwrap();
    let op_a = s.wallet(1_000_000 * T).await;
    let op_b = s.wallet(1_000_000 * T).await;
    let s1 = s.wallet(1_000_000 * T).await;
    let s4 = s.wallet(1_000_000 * T).await;
    let late = s.wallet(1_000_000 * T).await;
    let a = s.create_node(&op_a, 200_000 * T).await.unwrap();
    s.stake(&s1, a, 300_000 * T).await.unwrap();
    // B stays active throughout, so the epochs book staker rewards.
    s.create_node(&op_b, 500_000 * T).await.unwrap();
    s.next_epoch().await; // both active in epoch 1

    s.stake(&late, a, 100_000 * T).await.unwrap();
    assert_eq!(s.config().await.incoming_stake, 100_000 * T);

    // S1 leaves A in the same epoch: A drops out holding stake added in it.
    // The forfeit address of another epoch is refused; nothing changes.
    let forfeit = ix::forfeit(&a, 1);
    let watched = [ix::config(), a, ix::position(&a, &s1.pubkey()), forfeit];
    let catch_up = s.catch_up(&a, &s1.pubkey()).await;
    let stale = ix::request_unstake(s1.pubkey(), a, catch_up, 0, 300_000 * T);
    refused(&mut s, stale, &s1, Anchor::ConstraintSeeds, &watched).await;
    // Lamports sent to the forfeit address first (less than its rent, so
    // the program must top it up) do not stop its creation.
    let payer = s.chain.payer();
    let prefund =
        anchor_lang::solana_program::system_instruction::transfer(&payer, &forfeit, 1_000_000);
    s.chain.send(&[prefund], &[]).await.unwrap();

    s.unstake(&s1, a, 300_000 * T).await.unwrap();
    let written: Forfeit = s.chain.account(forfeit).await;
    assert_eq!(
        (written.node, written.epoch, written.incoming),
        (a, 1, 100_000 * T)
    );
    let config = s.config().await;
    assert_eq!((config.active_nodes, config.incoming_stake), (1, 0));

    // Epoch 1 books B alone; A earns nothing until it is back.
    s.next_epoch().await;
    assert!(s.record(1).await.staker_increment > 0);
    s.stake(&s4, a, 300_000 * T).await.unwrap(); // pending: active from 3
    s.next_epoch().await;
    s.next_epoch().await; // epoch 3, A's first active epoch since, closes

    // From A's return, the late stake earns what the same stake added
    // while A was inactive earns: a third of S4's 300,000.
    let late_paid = s.claim(&late, a).await.unwrap();
    let s4_paid = s.claim(&s4, a).await.unwrap();
    assert!(s4_paid > 0);
    assert!(
        (3 * late_paid).abs_diff(s4_paid) <= 3,
        "late {late_paid}, s4 {s4_paid}"
    );
}

#[tokio::test]
async fn a_node_closed_holding_new_stake_leaves_a_forfeit_and_the_stake_comes_back() {
    let mut s = Setup::new(params()).await;
    let op = s.wallet(1_000_000 * T).await;
    let late = s.wallet(1_000_000 * T).await;
    let node = s.create_node(&op, 500_000 * T).await.unwrap();
    s.next_epoch().await;
    s.stake(&late, node, 50_000 * T).await.unwrap();

    let epoch = s.config().await.epoch;
    let record = s.record_for(&node).await;
    let stale = ix::close_node(op.pubkey(), record, epoch - 1);
    refused(
        &mut s,
        stale,
        &op,
        Anchor::ConstraintSeeds,
        &[ix::config(), node],
    )
    .await;
    s.close(&op).await.unwrap();
    assert!(s.chain.exists(ix::forfeit(&node, epoch)).await);
    assert_eq!(s.config().await.incoming_stake, 0);

    // All of it can leave at once, and is withdrawn whole.
    s.unstake(&late, node, 50_000 * T).await.unwrap();
    s.chain.advance(7 * DAY).await;
    let before = s.chain.token_balance(late.tokens).await;
    s.withdraw(&late, node).await.unwrap();
    assert_eq!(
        s.chain.token_balance(late.tokens).await - before,
        50_000 * T
    );
    let p: StakePosition = s.chain.account(ix::position(&node, &late.pubkey())).await;
    assert_eq!((p.amount, p.incoming, p.unstaking), (0, 0, 0));
}

#[tokio::test]
async fn a_staker_taking_out_its_own_new_stake_needs_no_forfeit() {
    let mut s = Setup::new(params()).await;
    let op = s.wallet(1_000_000 * T).await;
    let x = s.wallet(1_000_000 * T).await;
    let node = s.create_node(&op, 200_000 * T).await.unwrap();
    s.stake(&x, node, 300_000 * T).await.unwrap();
    s.next_epoch().await; // active, 500,000

    // X adds 10,000 this epoch, then takes out 20,000: its own new stake
    // leaves first, so the node drops out holding none, and no forfeit is
    // written.
    s.stake(&x, node, 10_000 * T).await.unwrap();
    let epoch = s.config().await.epoch;
    s.unstake(&x, node, 20_000 * T).await.unwrap();
    assert!(!s.chain.exists(ix::forfeit(&node, epoch)).await);
    let config = s.config().await;
    assert_eq!((config.active_nodes, config.incoming_stake), (0, 0));
}

/// Whether a leave needs a forfeit depends on who added stake this epoch,
/// which anyone can change by staking one unit. The instruction decides,
/// not its caller, so a stake sent just before another's leaving unstake
/// cannot make it fail.
#[tokio::test]
async fn stake_added_just_before_a_leaving_unstake_does_not_block_it() {
    let mut s = Setup::new(params()).await;
    let op = s.wallet(1_000_000 * T).await;
    let x = s.wallet(1_000_000 * T).await;
    let mallory = s.wallet(1_000_000 * T).await;
    let node = s.create_node(&op, 200_000 * T).await.unwrap();
    s.stake(&x, node, 300_000 * T).await.unwrap();
    s.next_epoch().await;

    // X's leaving unstake is built while no forfeit would be needed...
    let epoch = s.config().await.epoch;
    let catch_up = s.catch_up(&node, &x.pubkey()).await;
    let leave = ix::request_unstake(x.pubkey(), node, catch_up, epoch, 20_000 * T);
    // ...and Mallory's stake lands first, so now one is.
    s.stake(&mallory, node, T).await.unwrap();
    s.chain.send(&[leave], &[&x.key]).await.unwrap();

    let written: Forfeit = s.chain.account(ix::forfeit(&node, epoch)).await;
    assert_eq!(
        (written.node, written.epoch, written.incoming),
        (node, epoch, T)
    );
    let config = s.config().await;
    assert_eq!((config.active_nodes, config.incoming_stake), (0, 0));
}
