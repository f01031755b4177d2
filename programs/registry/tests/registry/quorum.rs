//! Quorums that can always form: for 3, 24, 48 and 100 active core nodes a
//! score counts exactly when its quorum of reports is in, and a domain goes
//! live exactly at its quorum of approvals, because the registry keeps a
//! vote from every core node that can be active at once and staking caps
//! that number. Votes of nodes that are no longer active are dropped.

use aether_program_testkit::solana_signer::Signer;
use aether_program_testkit::world::params;
use aether_program_testkit::{find_event, registry as rix, staking as six, Keypair};
use aether_registry::constants::{MAX_ATTESTERS, MAX_REPORTS};
use aether_registry::events::{DomainStatusChanged, ScoreReported, ScoreUpdated};
use aether_registry::state::{DomainBinding, DomainStatus, NodeRecord};
use aether_staking::constants::MAX_ACTIVE_NODES;
use aether_staking::state::{Node, NodeStatus};

use super::common::*;

const DOMAIN: &str = "app.example.com";

/// `ceil(n × 2/3)` at the default quorum, at least one.
fn quorum(n: u32) -> u32 {
    ((u64::from(n) * 6_667).div_ceil(10_000) as u32).max(1)
}

/// `n` registered core nodes, active in epoch 1.
async fn network(n: usize) -> (Setup, Vec<Wallet>) {
    let mut s = Setup::new(params()).await;
    s.initialize_registry(6_667, Vec::new()).await;
    let mut cores = Vec::new();
    for i in 0..n {
        let args = core_args(&format!("n{i}"));
        cores.push(s.core_node(500_000 * T, 500_000 * T, args).await);
    }
    s.next_epoch().await;
    assert_eq!(s.config().await.active_nodes, n as u32);
    (s, cores)
}

/// `owner` requests `DOMAIN` for target `[7; 32]`, which must go through.
async fn request_domain(s: &mut Setup, owner: &Wallet) {
    s.chain
        .send(
            &[rix::request_domain(owner.pubkey(), DOMAIN, [7; 32])],
            &[&owner.key],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn quorums_fit_their_vote_space_at_any_size() {
    for n in [3u32, 24, 48, 100] {
        let (mut s, cores) = network(n as usize).await;
        // A resource node under the first core node, which may not score it.
        let owner = s.wallet(0).await;
        let id = Keypair::new();
        let parent = rix::record(&six::node(&cores[0].pubkey()));
        s.chain
            .send(
                &[rix::register_resource_node(
                    owner.pubkey(),
                    id.pubkey(),
                    parent,
                    cores[0].pubkey(),
                    resource_args(),
                )],
                &[&owner.key, &id, &cores[0].key],
            )
            .await
            .unwrap();
        let resource = rix::record(&id.pubkey());
        let needed = quorum(n - 1);
        assert!(needed <= MAX_REPORTS, "{n} nodes: quorum {needed}");
        for (i, reporter) in cores[1..=needed as usize].iter().enumerate() {
            let events = report(&mut s, reporter, resource, 1, 5_000 + i as u16)
                .await
                .unwrap_or_else(|e| panic!("{n} nodes, report {i}: {e:?}"));
            let reported: ScoreReported = find_event(&events).unwrap();
            assert_eq!(reported.quorum, needed, "{n} nodes");
            let last = i as u32 + 1 == needed;
            assert_eq!(
                find_event::<ScoreUpdated>(&events).is_some(),
                last,
                "{n} nodes: the score counts at report {needed}, not {}",
                i + 1
            );
        }
        let r: NodeRecord = s.chain.account(resource).await;
        assert!(r.scored && r.reports.len() == needed as usize, "{n} nodes");

        // A domain goes live at exactly its quorum of approvals.
        request_domain(&mut s, &owner).await;
        let needed = quorum(n);
        assert!(needed <= MAX_ATTESTERS, "{n} nodes: quorum {needed}");
        for (i, core) in cores[..needed as usize].iter().enumerate() {
            let events = s
                .chain
                .send(
                    &[rix::attest_domain(
                        core.pubkey(),
                        DOMAIN,
                        &owner.pubkey(),
                        [7; 32],
                        true,
                    )],
                    &[&core.key],
                )
                .await
                .unwrap_or_else(|e| panic!("{n} nodes, approval {i}: {e:?}"));
            assert_eq!(
                find_event::<DomainStatusChanged>(&events).is_some(),
                i as u32 + 1 == needed,
                "{n} nodes: live at approval {needed}"
            );
        }
        let b: DomainBinding = s
            .chain
            .account(rix::domain_binding(DOMAIN, &owner.pubkey()))
            .await;
        assert_eq!(b.status, DomainStatus::Live, "{n} nodes");
    }
}

#[tokio::test]
async fn votes_of_nodes_no_longer_active_are_dropped() {
    let (mut s, cores) = network(3).await;
    let owner = s.wallet(0).await;
    request_domain(&mut s, &owner).await;
    let attest = |core: &Wallet, ok: bool, drop: &[anchor_lang::prelude::Pubkey]| {
        rix::dropping_inactive(
            rix::attest_domain(core.pubkey(), DOMAIN, &owner.pubkey(), [7; 32], ok),
            drop,
        )
    };
    let binding = rix::domain_binding(DOMAIN, &owner.pubkey());
    s.chain
        .send(&[attest(&cores[1], false, &[])], &[&cores[1].key])
        .await
        .unwrap();
    // cores[1] takes stake off and falls under the activation threshold.
    let node1 = six::node(&cores[1].pubkey());
    s.unstake(&cores[1], node1, 100_000 * T).await.unwrap();
    let node: Node = s.chain.account(node1).await;
    assert_eq!(node.status, NodeStatus::Inactive);
    // Naming an active node drops nothing; naming the inactive one drops its vote.
    let node0 = six::node(&cores[0].pubkey());
    s.chain
        .send(&[attest(&cores[0], true, &[node0])], &[&cores[0].key])
        .await
        .unwrap();
    let b: DomainBinding = s.chain.account(binding).await;
    assert_eq!(
        (b.approvals.clone(), b.rejections.clone()),
        (vec![node0], vec![node1])
    );
    let node2 = six::node(&cores[2].pubkey());
    s.chain
        .send(&[attest(&cores[2], true, &[node1])], &[&cores[2].key])
        .await
        .unwrap();
    let b: DomainBinding = s.chain.account(binding).await;
    assert_eq!(b.approvals, vec![node0, node2]);
    assert!(b.rejections.is_empty(), "the inactive node's vote is gone");
    // Two active nodes now: two approvals are a quorum.
    assert_eq!(b.status, DomainStatus::Live);
}

#[tokio::test]
async fn staking_caps_active_and_pending_nodes() {
    let mut s = Setup::new(params()).await;
    for _ in 0..MAX_ACTIVE_NODES {
        let w = s.wallet(500_000 * T).await;
        s.create_node(&w, 500_000 * T).await.unwrap();
    }
    let config = s.config().await;
    assert_eq!(config.active_nodes + config.pending_nodes, MAX_ACTIVE_NODES);
    // One more over the threshold waits, inactive, while the network is full.
    let late = s.wallet(600_000 * T).await;
    let late_node = s.create_node(&late, 500_000 * T).await.unwrap();
    let node: Node = s.chain.account(late_node).await;
    assert_eq!(node.status, NodeStatus::Inactive);
    assert_eq!(s.config().await.pending_nodes, MAX_ACTIVE_NODES);
}
