//! Custom domains: requested by an owner, live once a quorum of active
//! core nodes approves, withdrawn the same way; every bad attempt is
//! refused with a named error and changes nothing. Each requester has its
//! own binding, so nobody squats on, resets or holds another's.

use aether_program_testkit::solana_signer::Signer;
use aether_program_testkit::{assert_error, find_event, registry as rix};
use aether_registry::errors::RegistryError;
use aether_registry::events::{DomainAttested, DomainRequested, DomainStatusChanged};
use aether_registry::state::{DomainBinding, DomainStatus};
use anchor_lang::prelude::Pubkey;

use super::common::*;

const DOMAIN: &str = "app.example.com";

async fn attest(
    w: &mut World,
    who: &str,
    owner: &Pubkey,
    target: [u8; 32],
    ok: bool,
) -> Vec<aether_program_testkit::RawEvent> {
    let wallet = match who {
        "a" => &w.a,
        "b" => &w.b,
        "c" => &w.c,
        _ => &w.d,
    };
    let key = wallet.key.insecure_clone();
    w.s.chain
        .send(
            &[rix::attest_domain(key.pubkey(), DOMAIN, owner, target, ok)],
            &[&key],
        )
        .await
        .unwrap_or_else(|e| panic!("{who} attests: {e:?}"))
}

#[tokio::test]
async fn a_quorum_binds_and_withdraws_a_domain() {
    let mut w = World::new().await;
    let target = [7u8; 32];
    let o = w.owner.pubkey();
    let binding = rix::domain_binding(DOMAIN, &o);

    // Malformed names are refused before anything is created.
    for bad in ["localhost", "App.example.com", "a..b", "-x.com"] {
        let owner = w.owner.key.insecure_clone();
        assert_error(
            w.s.chain
                .send(
                    &[rix::request_domain(owner.pubkey(), bad, target)],
                    &[&owner],
                )
                .await,
            RegistryError::InvalidDomain,
        );
    }

    // A squatter asks first: it gets a binding of its own, nothing more.
    let squatter = w.s.wallet(0).await;
    let sk = squatter.key.insecure_clone();
    let squat = rix::domain_binding(DOMAIN, &sk.pubkey());
    w.s.chain
        .send(&[rix::request_domain(sk.pubkey(), DOMAIN, [9; 32])], &[&sk])
        .await
        .unwrap();
    let owner = w.owner.key.insecure_clone();
    let events =
        w.s.chain
            .send(
                &[rix::request_domain(owner.pubkey(), DOMAIN, target)],
                &[&owner],
            )
            .await
            .unwrap();
    let requested: DomainRequested = find_event(&events).unwrap();
    assert_eq!(
        (requested.domain.as_str(), requested.target),
        (DOMAIN, target)
    );
    let b: DomainBinding = w.s.chain.account(binding).await;
    assert_eq!(b.status, DomainStatus::Pending);

    // Three active core nodes: the quorum (two thirds, rounded up) is 3.
    attest(&mut w, "a", &o, target, true).await;
    // The squatter re-requesting its own binding does not touch the owner's.
    let before = w.s.chain.raw(binding).await;
    w.s.chain
        .send(
            &[rix::request_domain(sk.pubkey(), DOMAIN, [10; 32])],
            &[&sk],
        )
        .await
        .unwrap();
    assert_eq!(w.s.chain.raw(binding).await, before);
    let events = attest(&mut w, "b", &o, target, true).await;
    let attested: DomainAttested = find_event(&events).unwrap();
    assert_eq!((attested.approvals, attested.quorum), (2, 3));
    assert!(find_event::<DomainStatusChanged>(&events).is_none());
    // Voting twice counts once.
    attest(&mut w, "b", &o, target, true).await;
    let b: DomainBinding = w.s.chain.account(binding).await;
    assert_eq!((b.status, b.approvals.len()), (DomainStatus::Pending, 2));
    let events = attest(&mut w, "c", &o, target, true).await;
    let changed: DomainStatusChanged = find_event(&events).unwrap();
    assert_eq!(changed.status, DomainStatus::Live);
    // The TXT record names the owner, not the squatter: a quorum rejects its binding.
    for who in ["a", "b", "c"] {
        attest(&mut w, who, &sk.pubkey(), [10; 32], false).await;
    }
    let b: DomainBinding = w.s.chain.account(squat).await;
    assert_eq!((b.owner, b.status), (sk.pubkey(), DomainStatus::Rejected));

    // An inactive core node, a stale target: refused, nothing changes.
    let before = w.s.chain.raw(binding).await;
    let d = w.d.key.insecure_clone();
    assert_error(
        w.s.chain
            .send(
                &[rix::attest_domain(d.pubkey(), DOMAIN, &o, target, false)],
                &[&d],
            )
            .await,
        RegistryError::AttesterNotActive,
    );
    let a = w.a.key.insecure_clone();
    assert_error(
        w.s.chain
            .send(
                &[rix::attest_domain(a.pubkey(), DOMAIN, &o, [8; 32], false)],
                &[&a],
            )
            .await,
        RegistryError::StaleAttestation,
    );
    assert_eq!(w.s.chain.raw(binding).await, before);

    // The record goes away: a quorum withdraws it.
    attest(&mut w, "a", &o, target, false).await;
    attest(&mut w, "b", &o, target, false).await;
    let b: DomainBinding = w.s.chain.account(binding).await;
    assert_eq!(b.status, DomainStatus::Live, "two of three is not a quorum");
    let events = attest(&mut w, "c", &o, target, false).await;
    let changed: DomainStatusChanged = find_event(&events).unwrap();
    assert_eq!(changed.status, DomainStatus::Withdrawn);

    // Withdrawn, its owner may ask again (a new target): the vote starts over.
    w.s.chain
        .send(&[rix::request_domain(o, DOMAIN, [11; 32])], &[&owner])
        .await
        .unwrap();
    let b: DomainBinding = w.s.chain.account(binding).await;
    assert_eq!(
        (b.owner, b.target, b.status),
        (o, [11; 32], DomainStatus::Pending)
    );
    assert!(b.approvals.is_empty() && b.rejections.is_empty());
}
