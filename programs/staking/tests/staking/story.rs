//! The whole life of a node: create, stake past the threshold, become active
//! at the next epoch, earn, claim, unstake, wait, withdraw, close.

use aether_program_testkit::assert_error;
use aether_program_testkit::{find_event, staking as ix, update};
use aether_staking::errors::StakingError;
use aether_staking::events::*;
use aether_staking::state::NodeStatus;

use super::common::*;

#[tokio::test]
async fn full_story() {
    let mut s = Setup::new(params()).await;
    let config = s.config().await;
    assert_eq!(config.epoch, 0);
    assert_eq!(config.params, params());
    s.fund(100_000 * T).await.unwrap();
    assert_eq!(s.chain.token_balance(ix::reward_vault()).await, 100_000 * T);

    // Two operators create nodes with the minimum stake: both inactive.
    let op_a = s.wallet(1_000_000 * T).await;
    let op_b = s.wallet(1_000_000 * T).await;
    let events = s
        .chain
        .send(
            &[ix::create_node(
                op_a.pubkey(),
                s.mint,
                op_a.tokens,
                Default::default(),
                200_000 * T,
            )],
            &[&op_a.key],
        )
        .await
        .unwrap();
    let created: NodeCreated = find_event(&events).expect("NodeCreated event");
    assert_eq!(created.operator, op_a.pubkey());
    assert_eq!(created.stake, 200_000 * T);
    let a = created.node;
    let b = s.create_node(&op_b, 200_000 * T).await.unwrap();
    assert_eq!(s.node(&op_a.pubkey()).await.status, NodeStatus::Inactive);

    // Stakers bring A to the threshold: pending, active from epoch 1.
    let s1 = s.wallet(1_000_000 * T).await;
    let s2 = s.wallet(1_000_000 * T).await;
    let s3 = s.wallet(1_000_000 * T).await;
    s.stake(&s1, a, 200_000 * T).await.unwrap();
    let events = s
        .chain
        .send(
            &[ix::stake(
                s2.pubkey(),
                a,
                s.mint,
                s2.tokens,
                Default::default(),
                100_000 * T,
            )],
            &[&s2.key],
        )
        .await
        .unwrap();
    let staked: Staked = find_event(&events).expect("Staked event");
    assert_eq!(staked.node_total_stake, 500_000 * T);
    let changed: NodeStatusChanged = find_event(&events).expect("NodeStatusChanged event");
    assert_eq!(changed.status, NodeStatus::Pending);
    assert_eq!(changed.activation_epoch, 1);
    let config = s.config().await;
    assert_eq!((config.active_nodes, config.pending_nodes), (0, 1));
    assert_eq!(config.pending_stake, 500_000 * T);

    // Cranking before the epoch is over is refused.
    let payer = s.chain.payer();
    assert_error(
        s.chain.send(&[ix::crank_epoch(payer, 0)], &[]).await,
        StakingError::EpochNotOver,
    );

    // Epoch 0 closes with no active node: nothing is booked. A is active in epoch 1.
    s.next_epoch().await;
    let record = s.record(0).await;
    assert_eq!((record.operator_booked, record.staker_booked), (0, 0));
    let config = s.config().await;
    assert_eq!(
        (config.epoch, config.active_nodes, config.pending_nodes),
        (1, 1, 0)
    );
    assert_eq!(config.active_stake, 500_000 * T);
    assert_eq!(config.total_booked, 0);

    // B reaches the threshold during epoch 1: active from epoch 2.
    s.stake(&s3, b, 300_000 * T).await.unwrap();
    assert_eq!(s.node(&op_b.pubkey()).await.activation_epoch, 2);

    // Epoch 1: A alone is active. Operator envelope 1,000 to A; staker
    // envelope 2,000 + 500 × 1 = 2,500 over A's 500,000 of stake.
    let before = s.config().await.total_booked;
    let events = {
        let config = s.config().await;
        s.chain.advance(DAY).await;
        s.chain
            .send(&[ix::crank_epoch(payer, config.epoch)], &[])
            .await
            .unwrap()
    };
    let cranked: EpochCranked = find_event(&events).expect("EpochCranked event");
    assert_eq!(cranked.epoch, 1);
    assert_eq!(cranked.active_nodes, 1);
    assert_eq!(cranked.operator_booked, 1_000 * T);
    assert_eq!(cranked.staker_booked, 2_500 * T);
    assert_eq!(cranked.next_epoch_active_nodes, 2);
    assert_eq!(s.config().await.total_booked - before, 3_500 * T);

    // A's activation is finalized on its first touch, from epoch 0's record.
    assert_eq!(s.record_for(&a).await, Some(ix::epoch_record(0)));
    let events = s
        .chain
        .send(
            &[ix::claim_rewards(
                op_a.pubkey(),
                a,
                s.mint,
                op_a.tokens,
                ix::CatchUp {
                    activation_record: Some(ix::epoch_record(0)),
                    incoming: None,
                },
            )],
            &[&op_a.key],
        )
        .await
        .unwrap();
    let claimed: RewardsClaimed = find_event(&events).expect("RewardsClaimed event");
    assert_eq!(claimed.operator_amount, 1_000 * T);
    assert_eq!(claimed.staker_amount, 1_000 * T); // 200,000 of 500,000
    assert_eq!(claimed.still_owed, 0);
    let changed: NodeStatusChanged = find_event(&events).expect("activation event");
    assert_eq!(changed.status, NodeStatus::Active);
    assert_eq!(s.node(&op_a.pubkey()).await.status, NodeStatus::Active);

    assert_eq!(s.claim(&s1, a).await.unwrap(), 1_000 * T);
    assert_eq!(s.claim(&s2, a).await.unwrap(), 500 * T);
    // Claiming twice pays nothing more and is refused.
    assert_error(s.claim(&s2, a).await, StakingError::NothingToClaim);

    // Epoch 2: A and B active. Per node 500 (less than A alone got); stakers
    // 2,000 + 500 × 2 = 3,000 in all (more than with one node), over 1,000,000.
    s.next_epoch().await;
    let record = s.record(2).await;
    assert_eq!(record.active_nodes, 2);
    assert_eq!(record.operator_booked, 1_000 * T);
    assert_eq!(record.staker_booked, 3_000 * T);
    assert!(record.staker_booked > s.record(1).await.staker_booked);

    assert_eq!(s.claim(&op_a, a).await.unwrap(), 500 * T + 600 * T);
    assert_eq!(s.claim(&op_b, b).await.unwrap(), 500 * T + 600 * T);
    assert_eq!(s.claim(&s1, a).await.unwrap(), 600 * T);
    assert_eq!(s.claim(&s2, a).await.unwrap(), 300 * T);
    assert_eq!(s.claim(&s3, b).await.unwrap(), 900 * T);

    // S1 leaves A: A falls under the threshold and is inactive at once.
    let epoch = s.config().await.epoch;
    let events = s
        .chain
        .send(
            &[ix::request_unstake(
                s1.pubkey(),
                a,
                Default::default(),
                epoch,
                200_000 * T,
            )],
            &[&s1.key],
        )
        .await
        .unwrap();
    let unstaked: UnstakeRequested = find_event(&events).expect("UnstakeRequested event");
    assert_eq!(unstaked.available_at, s.chain.now().await + 7 * DAY);
    let changed: NodeStatusChanged = find_event(&events).expect("deactivation event");
    assert_eq!(changed.status, NodeStatus::Inactive);
    let config = s.config().await;
    assert_eq!(config.active_nodes, 1);
    assert_eq!(config.active_stake, 500_000 * T);

    // Withdrawing before the cooldown is refused; after it, the tokens come back.
    assert_error(s.withdraw(&s1, a).await, StakingError::CooldownNotOver);
    s.chain.advance(7 * DAY).await;
    let before = s.chain.token_balance(s1.tokens).await;
    let events = s
        .chain
        .send(
            &[ix::withdraw(s1.pubkey(), a, s.mint, s1.tokens)],
            &[&s1.key],
        )
        .await
        .unwrap();
    let withdrawn: Withdrawn = find_event(&events).expect("Withdrawn event");
    assert_eq!(withdrawn.amount, 200_000 * T);
    assert_eq!(s.chain.token_balance(s1.tokens).await - before, 200_000 * T);
    assert_error(s.withdraw(&s1, a).await, StakingError::NothingToWithdraw);

    // The operator cannot go under its minimum while the node is open...
    assert_error(
        s.unstake(&op_a, a, 1).await,
        StakingError::OperatorBelowMinimum,
    );
    // ...and can after closing it.
    let epoch = s.config().await.epoch;
    let events = s
        .chain
        .send(&[ix::close_node(op_a.pubkey(), None, epoch)], &[&op_a.key])
        .await
        .unwrap();
    let closed: NodeClosed = find_event(&events).expect("NodeClosed event");
    assert_eq!(closed.total_stake, 300_000 * T);
    assert_error(s.stake(&s2, a, T).await, StakingError::NodeClosed);
    s.unstake(&op_a, a, 200_000 * T).await.unwrap();
    s.unstake(&s2, a, 100_000 * T).await.unwrap();
    assert_eq!(s.node(&op_a.pubkey()).await.total_stake, 0);

    // A running node is not created twice; a closed one reopens, and its
    // stakers may stake on it again.
    assert_error(
        s.create_node(&op_b, 200_000 * T).await,
        StakingError::NodeExists,
    );
    let count = s.config().await.node_count;
    // No stake enters an epoch that is over: crank up to now.
    loop {
        let config = s.config().await;
        if s.chain.now().await < config.epoch_started_at + config.params.epoch_length {
            break;
        }
        s.next_epoch().await;
    }
    s.create_node(&op_a, 200_000 * T).await.unwrap();
    let reopened = s.node(&op_a.pubkey()).await;
    assert_eq!(
        (reopened.status, reopened.total_stake),
        (NodeStatus::Inactive, 200_000 * T)
    );
    assert_eq!(
        s.config().await.node_count,
        count,
        "the same node, reopened"
    );
    s.stake(&s2, a, 300_000 * T).await.unwrap();
    assert_eq!(s.node(&op_a.pubkey()).await.status, NodeStatus::Pending);
    s.unstake(&s2, a, 300_000 * T).await.unwrap();

    // The books balance: vaults hold exactly what is staked, waiting, and unpaid.
    let config = s.config().await;
    assert_eq!(
        s.chain.token_balance(ix::stake_vault()).await,
        config.total_staked + config.total_unstaking
    );
    assert_eq!(
        s.chain.token_balance(ix::reward_vault()).await,
        config.total_funded - config.total_paid
    );
    assert_eq!(config.total_paid, 3_500 * T + 4_000 * T);
}

#[tokio::test]
async fn config_changes_apply_from_the_next_epoch() {
    let mut s = Setup::new(params()).await;
    let authority = s.chain.payer();
    let mut next = params();
    next.operator_envelope = 7 * T;
    next.epoch_length = 2 * DAY;
    let events = s
        .chain
        .send(&[update::staking_params(authority, next)], &[])
        .await
        .unwrap();
    let updated: ConfigUpdated = find_event(&events).expect("ConfigUpdated event");
    assert_eq!(updated.pending_params, Some(next));
    let config = s.config().await;
    assert_eq!(
        config.params,
        params(),
        "current epoch keeps its parameters"
    );
    s.next_epoch().await;
    let config = s.config().await;
    assert_eq!(config.params, next);
    assert_eq!(config.pending_params, None);
}

#[tokio::test]
async fn a_short_vault_books_only_what_is_funded_and_donations_count_once_funded() {
    let mut s = Setup::new(params()).await;
    let op = s.wallet(1_000_000 * T).await;
    let node = s.create_node(&op, 500_000 * T).await.unwrap();
    s.next_epoch().await; // node active from epoch 1
                          // Epoch 1 would book 1,000 + 2,500, but nothing is funded: nothing is
                          // booked, so no claimer can ever take another's share of a short vault.
    s.next_epoch().await;
    let config = s.config().await;
    assert_eq!((config.total_booked, config.owed()), (0, 0));
    assert_error(s.claim(&op, node).await, StakingError::NothingToClaim);

    // 700 funded: both envelopes shrink in proportion (1,000 : 2,500).
    s.fund(700 * T).await.unwrap();
    s.next_epoch().await;
    let record = s.record(2).await;
    assert_eq!(
        (record.operator_booked, record.staker_booked),
        (200 * T, 500 * T)
    );
    assert_eq!(s.claim(&op, node).await.unwrap(), 700 * T);
    assert_eq!(s.chain.token_balance(ix::reward_vault()).await, 0);

    // Tokens sent straight to the vault: nothing reverts, nothing is booked
    // from them until fund_rewards counts them as funded.
    let mint = s.mint;
    s.chain.mint_to(mint, ix::reward_vault(), 5 * T).await;
    s.next_epoch().await;
    assert_eq!(s.config().await.total_booked, 700 * T);
    assert_error(s.claim(&op, node).await, StakingError::NothingToClaim);
    s.fund(T).await.unwrap();
    let config = s.config().await;
    assert_eq!(config.total_funded, 706 * T, "the donation is counted");
    s.next_epoch().await;
    // 6 booked; under one base unit waits as a fraction for the next epoch.
    let paid = s.claim(&op, node).await.unwrap();
    assert!((6 * T - 1..=6 * T).contains(&paid), "{paid}");
    let config = s.config().await;
    assert_eq!(config.total_booked, 706 * T);
    assert_eq!(config.owed(), 6 * T - paid);
    assert_eq!(
        s.chain.token_balance(ix::reward_vault()).await,
        config.owed()
    );
}
