//! Who may serve a stream is the owner's choice; a storage stream is priced
//! by its size; a deregistered provider is paid nothing and loses its slot;
//! settling often loses providers nothing to rounding.

use aether_escrow::errors::EscrowError;
use aether_escrow::events::ProviderLeft;
use aether_escrow::state::{ServePolicy, StreamKind};
use aether_escrow::OpenStreamArgs;
use aether_program_testkit::{assert_error, find_event, registry as rix};
use aether_sdk::programs::escrow as eix;

use super::common::*;

fn args(
    resource: u8,
    serve: ServePolicy,
    allowed: Vec<anchor_lang::prelude::Pubkey>,
) -> OpenStreamArgs {
    OpenStreamArgs {
        resource: [resource; 32],
        kind: StreamKind::Compute,
        max_rate_per_second: 10,
        replicas: 4,
        deposit: 10_000,
        serve,
        allowed,
        size_bytes: 0,
    }
}

#[tokio::test]
async fn who_may_serve_is_the_owners_choice() {
    let mut w = World::new().await;
    let user = w.s.wallet(100_000).await;
    let (named, stranger) = (w.provider(1).await, w.provider(1).await);

    // An allowlist: only the named node joins; a stranger is refused and
    // nothing changes.
    let list = w
        .open_with(&user, args(1, ServePolicy::Allowlist, vec![named.record]))
        .await
        .unwrap();
    let before = w.s.chain.raw(list).await;
    assert_error(
        w.join(&stranger, list).await,
        EscrowError::ProviderNotAllowed,
    );
    assert_eq!(w.s.chain.raw(list).await, before);
    w.join(&named, list).await.unwrap();
    // The owner approves the stranger by name: now it may.
    let ix = eix::allow_providers(user.pubkey(), list, vec![named.record, stranger.record]);
    w.s.chain.send(&[ix], &[&user.key]).await.unwrap();
    w.join(&stranger, list).await.unwrap();

    // A score floor: an unscored node does not reach it.
    let scored = w
        .open_with(&user, args(2, ServePolicy::MinScore(1), vec![]))
        .await
        .unwrap();
    assert_error(
        w.join(&stranger, scored).await,
        EscrowError::ProviderNotAllowed,
    );
    // A floor of 0 is the owner's explicit "any registered resource node".
    let open = w
        .open_with(&user, args(3, ServePolicy::MinScore(0), vec![]))
        .await
        .unwrap();
    w.join(&stranger, open).await.unwrap();

    // Bad policies are refused before anything is created.
    let too_many = (0..9)
        .map(|_| anchor_lang::prelude::Pubkey::new_unique())
        .collect();
    assert_error(
        w.open_with(&user, args(4, ServePolicy::Allowlist, too_many))
            .await,
        EscrowError::TooManyAllowed,
    );
    assert_error(
        w.open_with(&user, args(4, ServePolicy::MinScore(10_001), vec![]))
            .await,
        EscrowError::InvalidStream,
    );
    assert!(
        !w.s.chain
            .exists(eix::stream(&user.pubkey(), &[4; 32]))
            .await
    );
}

#[tokio::test]
async fn a_storage_stream_is_priced_by_its_size() {
    let mut w = World::new().await;
    let user = w.s.wallet(100_000).await;
    // 1,000 base units per GB-month: 1 per second pays for 2,592 GB.
    let p = w.provider(1).await;
    let storage = |resource: u8, size_bytes: u64| OpenStreamArgs {
        kind: StreamKind::Storage,
        max_rate_per_second: 1,
        replicas: 1,
        size_bytes,
        ..args(resource, ServePolicy::MinScore(0), vec![])
    };
    let fits = w
        .open_with(&user, storage(1, 2_592 * 1_000_000_000))
        .await
        .unwrap();
    w.join(&p, fits).await.unwrap();
    // One byte more is a GB more than the rate pays for.
    let big = w
        .open_with(&user, storage(2, 2_592 * 1_000_000_000 + 1))
        .await
        .unwrap();
    assert_error(w.join(&p, big).await, EscrowError::PriceTooLow);
    // A storage stream states a size; a compute stream has none.
    assert_error(
        w.open_with(&user, storage(3, 0)).await,
        EscrowError::InvalidSize,
    );
    let compute_with_size = OpenStreamArgs {
        size_bytes: 5,
        ..args(3, ServePolicy::MinScore(0), vec![])
    };
    assert_error(
        w.open_with(&user, compute_with_size).await,
        EscrowError::InvalidSize,
    );
}

#[tokio::test]
async fn a_deregistered_provider_is_paid_nothing_and_loses_its_slot() {
    let mut w = World::new().await;
    let user = w.s.wallet(100_000).await;
    let (stays, goes) = (w.provider(1).await, w.provider(1).await);
    let stream = w
        .open_joined(&user, [1; 32], 10, 2, 10_000, &[&stays, &goes])
        .await;
    w.s.chain.advance(100).await;
    w.s.chain
        .send(
            &[rix::deregister_node(goes.owner.pubkey(), goes.record)],
            &[&goes.owner.key],
        )
        .await
        .unwrap();
    // Anyone settles: the one still registered gets its share, the other
    // nothing, and its slot is freed.
    let events = w.settle(stream).await.unwrap();
    let left: ProviderLeft = find_event(&events).expect("ProviderLeft");
    assert_eq!(
        (left.provider, left.removed, left.providers),
        (goes.record, true, 1)
    );
    assert_eq!(w.earned(&goes).await, 0);
    let share = w.earned(&stays).await;
    assert!(share >= 500, "half of 10 per second for 100 s: {share}");
    let s = w.stream(stream).await;
    assert_eq!(s.providers.len(), 1);
    assert_eq!(s.providers[0].record, stays.record);
    assert_eq!(s.paid_out, share, "the gone share stays in the vault");
    assert_eq!(
        w.s.chain.token_balance(eix::vault(&stream)).await,
        10_000 - share
    );
}

#[tokio::test]
async fn settling_every_second_loses_nothing_to_rounding() {
    let mut w = World::new().await;
    let user = w.s.wallet(100_000).await;
    let (a, b) = (w.provider(0).await, w.provider(0).await);
    // 1 per second for two: half a unit each per second.
    let stream = w.open_joined(&user, [1; 32], 1, 2, 10_000, &[&a, &b]).await;
    let start = w.stream(stream).await.last_settled;
    for _ in 0..9 {
        w.s.chain.advance(1).await;
        w.settle(stream).await.unwrap();
    }
    let s = w.stream(stream).await;
    let elapsed = (s.last_settled - start) as u64;
    let paid = w.earned(&a).await + w.earned(&b).await;
    assert_eq!(
        paid + s.carry,
        elapsed,
        "every unit that accrued is paid or carried"
    );
    assert!(s.carry < 2);
    assert!(
        paid >= elapsed - 1 && elapsed >= 9,
        "paid {paid} of {elapsed}"
    );
}
