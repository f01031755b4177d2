//! Money is conserved: random sequences of stake, unstake, withdraw, crank,
//! claim, fund, donate (tokens sent straight to the reward vault), close and
//! reopen, with time moving on and stake arriving late in epochs, never
//! create or lose a token; the vault always holds what is owed, so no claim
//! waits on another.

use aether_program_testkit::{proptest_cases, staking as ix};
use aether_staking::state::Node;
use anchor_lang::prelude::Pubkey;
use proptest::prelude::*;

use super::common::*;

const OPERATORS: usize = 3;
const WALLETS: usize = OPERATORS + 3;

#[derive(Debug, Clone)]
enum Op {
    Stake {
        who: usize,
        node: usize,
        amount: u64,
    },
    Unstake {
        who: usize,
        node: usize,
        amount: u64,
    },
    Withdraw {
        who: usize,
        node: usize,
    },
    Claim {
        who: usize,
        node: usize,
    },
    Fund {
        amount: u64,
    },
    Crank,
    Wait {
        seconds: i64,
    },
    Close {
        node: usize,
    },
    Reopen {
        node: usize,
    },
    Donate {
        amount: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..WALLETS;
    let node = 0..OPERATORS;
    // Odd base-unit amounts, so rounding is exercised.
    let amount = 1..400_000 * T;
    prop_oneof![
        4 => (who.clone(), node.clone(), amount.clone()).prop_map(|(who, node, amount)| Op::Stake { who, node, amount }),
        2 => (who.clone(), node.clone(), amount).prop_map(|(who, node, amount)| Op::Unstake { who, node, amount }),
        1 => (who.clone(), node.clone()).prop_map(|(who, node)| Op::Withdraw { who, node }),
        3 => (who, node.clone()).prop_map(|(who, node)| Op::Claim { who, node }),
        1 => (1..5_000 * T).prop_map(|amount| Op::Fund { amount }),
        3 => Just(Op::Crank),
        1 => (1..10 * DAY).prop_map(|seconds| Op::Wait { seconds }),
        1 => node.clone().prop_map(|node| Op::Close { node }),
        1 => node.prop_map(|node| Op::Reopen { node }),
        1 => (1..1_000 * T).prop_map(|amount| Op::Donate { amount }),
    ]
}

struct Books {
    positions: Vec<(Pubkey, Pubkey)>,
    nodes: Vec<Pubkey>,
}

/// Checks every conservation law at this instant; `unswept` is what was
/// donated to the reward vault since the last `fund_rewards`.
async fn check(s: &mut Setup, books: &Books, unswept: u64) {
    let config = s.config().await;
    let stake_vault = s.chain.token_balance(ix::stake_vault()).await;
    let reward_vault = s.chain.token_balance(ix::reward_vault()).await;
    assert_eq!(
        stake_vault,
        config.total_staked + config.total_unstaking,
        "stake vault"
    );
    assert_eq!(
        reward_vault,
        config.total_funded - config.total_paid + unswept,
        "reward vault"
    );
    assert!(
        config.total_booked <= config.total_funded,
        "booked more than funded"
    );
    assert!(
        config.owed() <= reward_vault,
        "the vault cannot pay what is owed"
    );
    assert!(
        config.total_paid <= config.total_funded,
        "paid more than funded"
    );
    assert!(
        config.total_paid <= config.total_booked,
        "paid more than booked"
    );

    let mut staked = 0u64;
    let mut unstaking = 0u64;
    let mut booked_unpaid = 0u64;
    for (node, staker) in &books.positions {
        if let Some(p) = s
            .chain
            .try_account::<aether_staking::state::StakePosition>(ix::position(node, staker))
            .await
        {
            staked += p.amount + p.incoming;
            unstaking += p.unstaking;
            booked_unpaid += p.pending_rewards;
        }
    }
    let mut node_stake = 0u64;
    let mut active = 0u32;
    let mut incoming = 0u64;
    for node in &books.nodes {
        if let Some(n) = s.chain.try_account::<Node>(*node).await {
            node_stake += n.total_stake;
            booked_unpaid += n.operator_pending;
            active += u32::from(n.is_active_in(&config));
            incoming += n.current_incoming(&config);
        }
    }
    assert_eq!(incoming, config.incoming_stake, "incoming vs config");
    assert_eq!(staked, config.total_staked, "positions vs config");
    assert_eq!(node_stake, config.total_staked, "nodes vs config");
    assert_eq!(unstaking, config.total_unstaking, "unstaking vs config");
    assert_eq!(active, config.active_nodes, "active nodes vs config");
    assert!(
        booked_unpaid <= config.owed(),
        "more booked to accounts than owed"
    );
}

async fn run(ops: Vec<Op>) {
    let mut s = Setup::new(params()).await;
    let mut wallets = Vec::new();
    for _ in 0..WALLETS {
        wallets.push(s.wallet(2_000_000 * T).await);
    }
    let mut nodes = Vec::new();
    for operator in wallets.iter().take(OPERATORS) {
        nodes.push(s.create_node(operator, 200_000 * T).await.unwrap());
    }
    let mut books = Books {
        positions: Vec::new(),
        nodes: nodes.clone(),
    };
    for n in &nodes {
        for w in &wallets {
            books.positions.push((*n, w.pubkey()));
        }
    }
    let mut sent = 0u64;
    let mut unswept = 0u64;
    check(&mut s, &books, unswept).await;

    for op in ops {
        let before = (
            s.chain.raw(ix::config()).await,
            s.chain.token_balance(ix::stake_vault()).await,
        );
        let result = match op {
            Op::Stake { who, node, amount } => s.stake(&wallets[who], nodes[node], amount).await,
            Op::Unstake { who, node, amount } => {
                s.unstake(&wallets[who], nodes[node], amount).await
            }
            Op::Withdraw { who, node } => s.withdraw(&wallets[who], nodes[node]).await,
            Op::Claim { who, node } => s.claim(&wallets[who], nodes[node]).await.map(drop),
            Op::Fund { amount } => {
                let funded = s.fund(amount).await;
                if funded.is_ok() {
                    unswept = 0;
                }
                funded
            }
            Op::Donate { amount } => {
                let mint = s.mint;
                s.chain.mint_to(mint, ix::reward_vault(), amount).await;
                unswept += amount;
                Ok(())
            }
            Op::Reopen { node } => {
                let operator = &wallets[node];
                s.create_node(operator, 200_000 * T).await.map(drop)
            }
            Op::Crank => {
                s.next_epoch().await;
                Ok(())
            }
            Op::Wait { seconds } => {
                s.chain.advance(seconds).await;
                Ok(())
            }
            Op::Close { node } => {
                let operator = &wallets[node];
                s.close(operator).await
            }
        };
        match result {
            Ok(()) => sent += 1,
            Err(_) => {
                let after = (
                    s.chain.raw(ix::config()).await,
                    s.chain.token_balance(ix::stake_vault()).await,
                );
                assert_eq!(before, after, "{op:?} failed but changed state");
            }
        }
        check(&mut s, &books, unswept).await;
    }

    // Everything owed is paid, from the vault as it is: booking never
    // outruns funding. What stays owed is only what has not added up to a
    // whole base unit yet: under one per node, per position and per
    // envelope (fractions are carried, not lost).
    for w in &wallets {
        for n in &nodes {
            let _ = s.claim(w, *n).await;
        }
    }
    check(&mut s, &books, unswept).await;
    let config = s.config().await;
    let accounts = (books.nodes.len() + books.positions.len() + 2) as u64;
    assert!(
        config.owed() <= accounts,
        "{} base units owed after everyone claimed ({} accounts)",
        config.owed(),
        accounts
    );
    let _ = sent;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(), max_shrink_iters: 64, ..ProptestConfig::default() })]

    #[test]
    fn tokens_are_conserved(ops in proptest::collection::vec(op(), 10..40)) {
        tokio::runtime::Runtime::new().unwrap().block_on(run(ops));
    }
}
