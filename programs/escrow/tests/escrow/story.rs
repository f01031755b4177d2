//! A stream's life: open, providers join at their price, settle exactly
//! once, leave, run dry, top up, close with a refund.

use aether_escrow::errors::EscrowError;
use aether_escrow::events::*;
use aether_escrow::state::{ServePolicy, StreamKind};
use aether_escrow::OpenStreamArgs;
use aether_program_testkit::{assert_error, find_event};
use aether_sdk::programs::escrow as eix;

use super::common::*;

#[tokio::test]
async fn a_stream_from_open_to_close() {
    let mut w = World::new().await;
    let user = w.s.wallet(1_000_000).await;
    let p1 = w.provider(40).await;
    let p2 = w.provider(50).await;
    let p3 = w.provider(10).await;
    let greedy = w.provider(60).await;

    // 100 per second in all, two replicas, 10,000 deposited; the owner
    // names who may serve.
    let args = OpenStreamArgs {
        resource: [7; 32],
        kind: StreamKind::Compute,
        max_rate_per_second: 100,
        replicas: 2,
        deposit: 10_000,
        serve: ServePolicy::Allowlist,
        allowed: vec![p1.record, p2.record, greedy.record],
        size_bytes: 0,
    };
    let stream = w.open_with(&user, args).await.unwrap();
    let size = w.s.chain.raw(stream).await.unwrap().len();
    assert_eq!(
        size,
        8 + <aether_escrow::state::Stream as anchor_lang::Space>::INIT_SPACE
    );
    assert_eq!(size, 1_105, "the size the README gives");
    assert_eq!(w.balance(&user).await, 990_000);
    assert_eq!(w.s.chain.token_balance(eix::vault(&stream)).await, 10_000);

    // p1 alone gets the whole rate.
    let events = w.join(&p1, stream).await.unwrap();
    assert_eq!(find_event::<ProviderJoined>(&events).unwrap().providers, 1);
    w.s.chain.advance(10).await;
    let events = w.settle(stream).await.unwrap();
    assert_eq!(
        find_event::<StreamSettled>(&events).unwrap().paid,
        vec![1_000]
    );
    assert_eq!(w.earned(&p1).await, 1_000);
    // Settling again in the same second pays nothing more.
    let events = w.settle(stream).await.unwrap();
    assert!(find_event::<StreamSettled>(&events).is_none());
    assert_eq!(w.earned(&p1).await, 1_000);

    // A second provider at 60/s does not fit a 50/s share; one at 50/s does.
    assert_error(w.join(&greedy, stream).await, EscrowError::PriceTooLow);
    w.join(&p2, stream).await.unwrap();
    assert_error(w.join(&p3, stream).await, EscrowError::StreamFull);
    assert_error(w.join(&p1, stream).await, EscrowError::AlreadyJoined);
    w.s.chain.advance(10).await;
    w.settle(stream).await.unwrap();
    assert_eq!(w.earned(&p1).await, 1_500);
    assert_eq!(w.earned(&p2).await, 500);

    // p2 leaves, paid up to the moment it leaves.
    w.s.chain.advance(4).await;
    let events = w.leave(&p2, stream).await.unwrap();
    let left: ProviderLeft = find_event(&events).unwrap();
    assert_eq!((left.providers, left.removed), (1, false));
    assert_eq!(w.earned(&p2).await, 700);
    assert_eq!(w.earned(&p1).await, 1_700);

    // The owner names p3 alone now: p2 may not come back, p3 may.
    let allow = eix::allow_providers(user.pubkey(), stream, vec![p3.record]);
    w.s.chain.send(&[allow], &[&user.key]).await.unwrap();
    assert_error(w.join(&p2, stream).await, EscrowError::ProviderNotAllowed);
    w.join(&p3, stream).await.unwrap();

    // The owner removes p3; p1 stays alone.
    let slots = w.stream(stream).await.providers;
    let remove = eix::remove_provider(user.pubkey(), p3.record, w.s.mint, stream, &slots);
    w.s.chain.send(&[remove], &[&user.key]).await.unwrap();
    assert_eq!(w.stream(stream).await.providers.len(), 1);

    // Left: 10,000 - 2,400 = 7,600. Far more time than that pays for: p1
    // gets all of it, and the stream is exhausted.
    let vault = w.s.chain.token_balance(eix::vault(&stream)).await;
    assert_eq!(vault, 7_600);
    w.s.chain.advance(1_000).await;
    let events = w.settle(stream).await.unwrap();
    assert_eq!(
        find_event::<StreamSettled>(&events).unwrap().paid,
        vec![7_600]
    );
    let exhausted: StreamExhausted = find_event(&events).expect("StreamExhausted event");
    assert_eq!(exhausted.resource, [7; 32]);
    assert!(w.stream(stream).await.exhausted);
    assert_error(w.join(&p2, stream).await, EscrowError::Exhausted);

    // A top-up resumes service from now; the dry time is not owed.
    let events =
        w.s.chain
            .send(
                &[eix::top_up(
                    user.pubkey(),
                    w.s.mint,
                    user.tokens,
                    stream,
                    5_000,
                )],
                &[&user.key],
            )
            .await
            .unwrap();
    assert_eq!(
        find_event::<StreamToppedUp>(&events).unwrap().balance,
        5_000
    );
    w.s.chain.advance(20).await;

    // Closing settles (2,000 to p1) and refunds the other 3,000.
    let p1_before = w.earned(&p1).await;
    let events = w.close(&user, stream).await.unwrap();
    assert_eq!(find_event::<StreamClosed>(&events).unwrap().refund, 3_000);
    assert_eq!(w.earned(&p1).await - p1_before, 2_000);
    assert!(!w.s.chain.exists(stream).await);
    assert!(!w.s.chain.exists(eix::vault(&stream)).await);
    // Deposits = payouts + refunds, to the base unit.
    let paid = w.earned(&p1).await + w.earned(&p2).await + w.earned(&p3).await;
    assert_eq!(15_000, paid + 3_000);
    assert_eq!(w.balance(&user).await, 1_000_000 - 15_000 + 3_000);
}
