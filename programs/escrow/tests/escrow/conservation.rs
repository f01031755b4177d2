//! Tokens are conserved: random sequences of open, top-up, join, leave,
//! settle and close, with time moving on, always balance deposits against
//! payouts, refunds and what the vaults hold, to the base unit.

use aether_escrow::state::Stream;
use aether_program_testkit::proptest_cases;
use aether_sdk::programs::escrow as eix;
use anchor_lang::prelude::Pubkey;
use proptest::prelude::*;

use super::common::*;

const USERS: usize = 2;
const PROVIDERS: usize = 3;
const RESOURCES: u8 = 2;

#[derive(Debug, Clone)]
enum Op {
    Open {
        user: usize,
        resource: u8,
        rate: u64,
        replicas: u8,
        deposit: u64,
    },
    TopUp {
        user: usize,
        resource: u8,
        amount: u64,
    },
    Join {
        provider: usize,
        user: usize,
        resource: u8,
    },
    Leave {
        provider: usize,
        user: usize,
        resource: u8,
    },
    Settle {
        user: usize,
        resource: u8,
    },
    Close {
        user: usize,
        resource: u8,
    },
    Wait {
        seconds: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS;
    let res = 0..RESOURCES;
    prop_oneof![
        2 => (user.clone(), res.clone(), 1..50u64, 1..4u8, 1..5_000u64)
            .prop_map(|(user, resource, rate, replicas, deposit)| Op::Open { user, resource, rate, replicas, deposit }),
        1 => (user.clone(), res.clone(), 1..3_000u64).prop_map(|(user, resource, amount)| Op::TopUp { user, resource, amount }),
        3 => (0..PROVIDERS, user.clone(), res.clone()).prop_map(|(provider, user, resource)| Op::Join { provider, user, resource }),
        1 => (0..PROVIDERS, user.clone(), res.clone()).prop_map(|(provider, user, resource)| Op::Leave { provider, user, resource }),
        3 => (user.clone(), res.clone()).prop_map(|(user, resource)| Op::Settle { user, resource }),
        1 => (user, res).prop_map(|(user, resource)| Op::Close { user, resource }),
        3 => (1..200i64).prop_map(|seconds| Op::Wait { seconds }),
    ]
}

async fn run(ops: Vec<Op>) {
    let mut w = World::new().await;
    let mut users = Vec::new();
    for _ in 0..USERS {
        users.push(w.s.wallet(1_000_000).await);
    }
    let mut providers = Vec::new();
    for i in 0..PROVIDERS {
        providers.push(w.provider(i as u64 * 3).await);
    }
    let streams: Vec<Pubkey> = (0..USERS)
        .flat_map(|u| (0..RESOURCES).map(move |r| (u, r)))
        .map(|(u, r)| eix::stream(&users[u].pubkey(), &[r; 32]))
        .collect();
    let stream_of = |u: usize, r: u8| streams[u * RESOURCES as usize + r as usize];

    let mut deposits = 0u64;
    let mut refunds = 0u64;
    for op in ops {
        let user_before: Vec<u64> = {
            let mut v = Vec::new();
            for u in &users {
                v.push(w.balance(u).await);
            }
            v
        };
        match op {
            Op::Open {
                user,
                resource,
                rate,
                replicas,
                deposit,
            } => {
                if w.open(&users[user], [resource; 32], rate, replicas, deposit)
                    .await
                    .is_ok()
                {
                    deposits += deposit;
                }
            }
            Op::TopUp {
                user,
                resource,
                amount,
            } => {
                let u = &users[user];
                let ix = eix::top_up(
                    u.pubkey(),
                    w.s.mint,
                    u.tokens,
                    stream_of(user, resource),
                    amount,
                );
                if w.s.chain.send(&[ix], &[&u.key]).await.is_ok() {
                    deposits += amount;
                }
            }
            Op::Join {
                provider,
                user,
                resource,
            } => {
                let s = stream_of(user, resource);
                if w.s.chain.exists(s).await {
                    let _ = w.join(&providers[provider], s).await;
                }
            }
            Op::Leave {
                provider,
                user,
                resource,
            } => {
                let s = stream_of(user, resource);
                if w.s.chain.exists(s).await {
                    let _ = w.leave(&providers[provider], s).await;
                }
            }
            Op::Settle { user, resource } => {
                let s = stream_of(user, resource);
                if w.s.chain.exists(s).await {
                    w.settle(s)
                        .await
                        .expect("settle never fails on a live stream");
                }
            }
            Op::Close { user, resource } => {
                let s = stream_of(user, resource);
                if w.s.chain.exists(s).await {
                    w.close(&users[user], s)
                        .await
                        .expect("the owner can always close");
                    refunds += w.balance(&users[user]).await - user_before[user];
                }
            }
            Op::Wait { seconds } => w.s.chain.advance(seconds).await,
        }

        // deposits = payouts + refunds + vaults, to the base unit.
        let mut payouts = 0u64;
        for p in &providers {
            payouts += w.earned(p).await;
        }
        let mut vaults = 0u64;
        for s in &streams {
            if let Some(stream) = w.s.chain.try_account::<Stream>(*s).await {
                let vault = w.s.chain.token_balance(eix::vault(s)).await;
                assert_eq!(
                    vault,
                    stream.deposited - stream.paid_out,
                    "vault of {s} vs its books"
                );
                let slots: u64 = stream.providers.iter().map(|p| p.paid).sum();
                assert!(slots <= stream.paid_out);
                vaults += vault;
            }
        }
        assert_eq!(deposits, payouts + refunds + vaults, "after {op:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(), max_shrink_iters: 32, ..ProptestConfig::default() })]

    #[test]
    fn tokens_are_conserved(ops in proptest::collection::vec(op(), 10..40)) {
        tokio::runtime::Runtime::new().unwrap().block_on(run(ops));
    }
}
