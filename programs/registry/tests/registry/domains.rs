//! Custom domains: requested by an owner, live once a quorum of active
//! core nodes approves, withdrawn the same way; every bad attempt is
//! refused with a named error and changes nothing.

use aether_program_testkit::solana_signer::Signer;
use aether_program_testkit::{assert_error, find_event, registry as rix};
use aether_registry::errors::RegistryError;
use aether_registry::events::{DomainAttested, DomainRequested, DomainStatusChanged};
use aether_registry::state::{DomainBinding, DomainStatus};

use super::common::*;

const DOMAIN: &str = "app.example.com";

async fn attest(
    w: &mut World,
    who: &str,
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
            &[rix::attest_domain(key.pubkey(), DOMAIN, target, ok)],
            &[&key],
        )
        .await
        .unwrap_or_else(|e| panic!("{who} attests: {e:?}"))
}

#[tokio::test]
async fn a_quorum_binds_and_withdraws_a_domain() {
    let mut w = World::new().await;
    let target = [7u8; 32];
    let binding = rix::domain_binding(DOMAIN);

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
    attest(&mut w, "a", target, true).await;
    let events = attest(&mut w, "b", target, true).await;
    let attested: DomainAttested = find_event(&events).unwrap();
    assert_eq!((attested.approvals, attested.quorum), (2, 3));
    assert!(find_event::<DomainStatusChanged>(&events).is_none());
    // Voting twice counts once.
    attest(&mut w, "b", target, true).await;
    let b: DomainBinding = w.s.chain.account(binding).await;
    assert_eq!((b.status, b.approvals.len()), (DomainStatus::Pending, 2));
    let events = attest(&mut w, "c", target, true).await;
    let changed: DomainStatusChanged = find_event(&events).unwrap();
    assert_eq!(changed.status, DomainStatus::Live);

    // An inactive core node, a stale target, another owner: refused, nothing changes.
    let before = w.s.chain.raw(binding).await;
    let d = w.d.key.insecure_clone();
    assert_error(
        w.s.chain
            .send(
                &[rix::attest_domain(d.pubkey(), DOMAIN, target, false)],
                &[&d],
            )
            .await,
        RegistryError::AttesterNotActive,
    );
    let a = w.a.key.insecure_clone();
    assert_error(
        w.s.chain
            .send(
                &[rix::attest_domain(a.pubkey(), DOMAIN, [8; 32], false)],
                &[&a],
            )
            .await,
        RegistryError::StaleAttestation,
    );
    let squatter = w.s.wallet(0).await;
    let sk = squatter.key.insecure_clone();
    assert_error(
        w.s.chain
            .send(&[rix::request_domain(sk.pubkey(), DOMAIN, [9; 32])], &[&sk])
            .await,
        RegistryError::DomainTaken,
    );
    assert_eq!(w.s.chain.raw(binding).await, before);

    // The record goes away: a quorum withdraws it.
    attest(&mut w, "a", target, false).await;
    attest(&mut w, "b", target, false).await;
    let b: DomainBinding = w.s.chain.account(binding).await;
    assert_eq!(b.status, DomainStatus::Live, "two of three is not a quorum");
    let events = attest(&mut w, "c", target, false).await;
    let changed: DomainStatusChanged = find_event(&events).unwrap();
    assert_eq!(changed.status, DomainStatus::Withdrawn);

    // Withdrawn, it goes to whoever requests it next, votes cleared.
    w.s.chain
        .send(&[rix::request_domain(sk.pubkey(), DOMAIN, [9; 32])], &[&sk])
        .await
        .unwrap();
    let b: DomainBinding = w.s.chain.account(binding).await;
    assert_eq!(
        (b.owner, b.target, b.status),
        (sk.pubkey(), [9; 32], DomainStatus::Pending)
    );
    assert!(b.approvals.is_empty() && b.rejections.is_empty());
}
