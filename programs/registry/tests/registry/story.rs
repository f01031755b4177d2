//! Register core and resource nodes, update them, report scores until a
//! quorum makes the median count, deregister.

use aether_program_testkit::solana_signer::Signer;
use aether_program_testkit::{find_event, registry as rix};
use aether_registry::events::*;
use aether_registry::state::{NodeKind, RegistryConfig};
use aether_registry::UpdateNodeArgs;

use super::common::*;

#[tokio::test]
async fn register_update_score_deregister() {
    let mut w = World::new().await;
    let config: RegistryConfig = w.s.chain.account(rix::config()).await;
    assert_eq!((config.core_nodes, config.resource_nodes), (4, 1));
    assert_eq!(config.quorum_bps, 6_667);

    let a = World::core_record(&w.a);
    let core = w.record(a).await;
    assert_eq!(core.kind, NodeKind::Core);
    assert_eq!(core.owner, w.a.pubkey());
    assert_eq!(core.endpoint, "https://a.aether.test");
    assert_eq!(core.p2p_address, "/dns4/a.aether.test/tcp/4025");

    let r = w.record(w.resource).await;
    assert_eq!(r.kind, NodeKind::Resource);
    assert_eq!(r.parent, a);
    assert_eq!(r.owner, w.owner.pubkey());
    assert_eq!(r.identity, w.resource_key.pubkey());
    assert_eq!(r.capacity, resource_args().capacity);
    assert_eq!(r.min_price_compute_per_second, 12);
    assert!(!r.scored);

    // The owner changes its prices and endpoint; the event says what it is now.
    let events =
        w.s.chain
            .send(
                &[rix::update_node(
                    w.owner.pubkey(),
                    w.resource,
                    None,
                    UpdateNodeArgs {
                        endpoint: Some("https://crn2.aether.test".into()),
                        min_price_compute_per_second: Some(20),
                        ..Default::default()
                    },
                )],
                &[&w.owner.key],
            )
            .await
            .unwrap();
    let updated: NodeUpdated = find_event(&events).expect("NodeUpdated event");
    assert_eq!(updated.endpoint, "https://crn2.aether.test");
    assert_eq!(updated.min_price_compute_per_second, 20);
    assert_eq!(updated.min_price_storage_per_gb_month, 3_000);
    // Moving under core node b, with its operator's consent.
    let b = World::core_record(&w.b);
    w.s.chain
        .send(
            &[rix::update_node(
                w.owner.pubkey(),
                w.resource,
                Some(w.b.pubkey()),
                UpdateNodeArgs {
                    move_to_parent: true,
                    ..Default::default()
                },
            )],
            &[&w.owner.key, &w.b.key],
        )
        .await
        .unwrap();
    assert_eq!(w.record(w.resource).await.parent, b);

    // Epoch 1 has 3 active core nodes; b parents the node and may not
    // score it, so a quorum of 6,667 bps is both of the other two.
    let events = report(&mut w.s, &w.a, w.resource, 1, 8_000).await.unwrap();
    let reported: ScoreReported = find_event(&events).expect("ScoreReported event");
    assert_eq!((reported.reports_this_epoch, reported.quorum), (1, 2));
    assert!(find_event::<ScoreUpdated>(&events).is_none());
    assert!(!w.record(w.resource).await.scored, "no score before quorum");
    let events = report(&mut w.s, &w.c, w.resource, 1, 6_000).await.unwrap();
    let scored: ScoreUpdated = find_event(&events).expect("ScoreUpdated event");
    assert_eq!(scored.score, 7_000, "the median of 6,000 and 8,000");
    let r = w.record(w.resource).await;
    assert!(r.scored);
    assert_eq!((r.score, r.score_epoch), (7_000, 1));

    // Core nodes score each other too.
    report(&mut w.s, &w.b, a, 1, 10_000).await.unwrap();

    // In epoch 2 one report is not a quorum: the epoch-1 score stands.
    w.s.next_epoch().await;
    report(&mut w.s, &w.a, w.resource, 2, 1_000).await.unwrap();
    let r = w.record(w.resource).await;
    assert_eq!((r.score, r.score_epoch), (7_000, 1));
    assert_eq!(r.reports.len(), 3);

    // Deregistering closes the record and returns its rent to the owner.
    let before = w.s.chain.lamports(w.owner.pubkey()).await;
    let events =
        w.s.chain
            .send(
                &[rix::deregister_node(w.owner.pubkey(), w.resource)],
                &[&w.owner.key],
            )
            .await
            .unwrap();
    let gone: NodeDeregistered = find_event(&events).expect("NodeDeregistered event");
    assert_eq!(gone.kind, NodeKind::Resource);
    assert!(!w.s.chain.exists(w.resource).await);
    let after = w.s.chain.lamports(w.owner.pubkey()).await;
    assert!(after > before, "rent returned");
    let config: RegistryConfig = w.s.chain.account(rix::config()).await;
    assert_eq!((config.core_nodes, config.resource_nodes), (4, 0));
}
