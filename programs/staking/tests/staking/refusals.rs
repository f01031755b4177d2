//! Every way to cheat is refused with a named error and changes nothing.

use aether_program_testkit::{staking as ix, update, Keypair};
use aether_staking::errors::StakingError;
use aether_staking::state::{Config, Node, Params};
use aether_staking::UpdateConfigArgs;
use anchor_lang::error::ErrorCode as Anchor;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;

use super::common::*;

/// A running node A (active from epoch 1), its operator and a staker on it.
struct World {
    s: Setup,
    op: Wallet,
    staker: Wallet,
    node: Pubkey,
}

async fn world() -> World {
    let mut s = Setup::new(params()).await;
    s.fund(50_000 * T).await.unwrap();
    let op = s.wallet(1_000_000 * T).await;
    let staker = s.wallet(1_000_000 * T).await;
    let node = s.create_node(&op, 200_000 * T).await.unwrap();
    s.stake(&staker, node, 300_000 * T).await.unwrap();
    World {
        s,
        op,
        staker,
        node,
    }
}

/// Every account an instruction of this program can touch.
fn watched(w: &World) -> [Pubkey; 8] {
    [
        ix::config(),
        ix::stake_vault(),
        ix::reward_vault(),
        w.node,
        ix::position(&w.node, &w.staker.pubkey()),
        ix::position(&w.node, &w.op.pubkey()),
        w.op.tokens,
        w.staker.tokens,
    ]
}

/// Sends `ix` signed by `signer`, expects `code`, and checks nothing changed.
async fn refused(w: &mut World, ix: Instruction, signer: &Keypair, code: impl Into<u32>) {
    let keys = watched(w);
    w.s.chain.assert_refused(ix, &[signer], code, &keys).await;
}

/// The authority (the payer) sets `params`: refused as invalid, nothing changed.
async fn refused_params(w: &mut World, params: Params) {
    let payer = w.s.chain.ctx.payer.insecure_clone();
    let set = update::staking_params(payer.pubkey(), params);
    refused(w, set, &payer, StakingError::InvalidParams).await;
}

#[tokio::test]
async fn wrong_signers_are_refused() {
    let mut w = world().await;
    let mallory = w.s.wallet(1_000 * T).await;
    // Only the authority updates the config.
    let ix = ix::update_config(
        mallory.pubkey(),
        UpdateConfigArgs {
            params: Some(params()),
            new_authority: Some(mallory.pubkey()),
        },
    );
    refused(&mut w, ix, &mallory.key, StakingError::Unauthorized).await;

    // Someone else's position cannot be unstaked, claimed or withdrawn:
    // positions are derived from the signer, so the victim's does not match.
    let victim_position = ix::position(&w.node, &w.staker.pubkey());
    let mut unstake = ix::request_unstake(mallory.pubkey(), w.node, Default::default(), 0, T);
    unstake.accounts[3].pubkey = victim_position;
    refused(&mut w, unstake, &mallory.key, Anchor::ConstraintSeeds).await;
    let mut claim = ix::claim_rewards(
        mallory.pubkey(),
        w.node,
        w.s.mint,
        mallory.tokens,
        Default::default(),
    );
    claim.accounts[3].pubkey = victim_position;
    refused(&mut w, claim, &mallory.key, Anchor::ConstraintSeeds).await;
    let mut withdraw = ix::withdraw(mallory.pubkey(), w.node, w.s.mint, mallory.tokens);
    withdraw.accounts[2].pubkey = victim_position;
    refused(&mut w, withdraw, &mallory.key, Anchor::ConstraintSeeds).await;

    // Only the operator closes its node.
    let mut close = ix::close_node(mallory.pubkey(), None, 0);
    close.accounts[2].pubkey = w.node;
    refused(&mut w, close, &mallory.key, Anchor::ConstraintSeeds).await;

    // A signature is required: the staker's key listed but not signing.
    let mut unsigned = ix::request_unstake(w.staker.pubkey(), w.node, Default::default(), 0, T);
    unsigned.accounts[0].is_signer = false;
    let payer = w.s.chain.ctx.payer.insecure_clone();
    refused(&mut w, unsigned, &payer, Anchor::AccountNotSigner).await;
}

#[tokio::test]
async fn wrong_mints_and_foreign_token_accounts_are_refused() {
    let mut w = world().await;
    let staker_key = w.staker.key.insecure_clone();
    let other_mint = w.s.chain.create_mint(6).await;
    let mallory = w.s.wallet(1_000_000 * T).await;
    let fake_tokens =
        w.s.chain
            .create_token_account(other_mint, mallory.pubkey())
            .await;
    w.s.chain
        .mint_to(other_mint, fake_tokens, 1_000_000 * T)
        .await;

    // Stake paid in another mint's tokens.
    let stake = ix::stake(
        mallory.pubkey(),
        w.node,
        w.s.mint,
        fake_tokens,
        Default::default(),
        300_000 * T,
    );
    refused(&mut w, stake, &mallory.key, StakingError::WrongMint).await;
    // The other mint passed as the stake mint.
    let stake = ix::stake(
        mallory.pubkey(),
        w.node,
        other_mint,
        fake_tokens,
        Default::default(),
        300_000 * T,
    );
    refused(&mut w, stake, &mallory.key, StakingError::WrongMint).await;
    // Someone else's token account as the source.
    let stake = ix::stake(
        mallory.pubkey(),
        w.node,
        w.s.mint,
        w.staker.tokens,
        Default::default(),
        T,
    );
    refused(&mut w, stake, &mallory.key, StakingError::WrongTokenOwner).await;
    // Rewards claimed into an account of another mint.
    let claim = ix::claim_rewards(
        w.staker.pubkey(),
        w.node,
        w.s.mint,
        fake_tokens,
        Default::default(),
    );
    refused(&mut w, claim, &staker_key, StakingError::WrongMint).await;
}

#[tokio::test]
async fn foreign_vaults_are_refused() {
    let mut w = world().await;
    let staker_key = w.staker.key.insecure_clone();
    let mallory = w.s.wallet(1_000_000 * T).await;
    // Funding "rewards" into a vault mallory owns.
    let mallory_vault =
        w.s.chain
            .create_token_account(w.s.mint, mallory.pubkey())
            .await;
    let mut fund = ix::fund_rewards(mallory.pubkey(), w.s.mint, mallory.tokens, 10 * T);
    fund.accounts[4].pubkey = mallory_vault;
    refused(&mut w, fund, &mallory.key, Anchor::ConstraintSeeds).await;
    // Staking into a vault mallory owns.
    let mut stake = ix::stake(
        w.staker.pubkey(),
        w.node,
        w.s.mint,
        w.staker.tokens,
        Default::default(),
        T,
    );
    stake.accounts[7].pubkey = mallory.tokens;
    refused(&mut w, stake, &staker_key, Anchor::ConstraintSeeds).await;
    // Claiming from a "reward vault" that is the stake vault.
    let mut claim = ix::claim_rewards(
        w.staker.pubkey(),
        w.node,
        w.s.mint,
        w.staker.tokens,
        Default::default(),
    );
    claim.accounts[7].pubkey = ix::stake_vault();
    refused(&mut w, claim, &staker_key, Anchor::ConstraintSeeds).await;
}

#[tokio::test]
async fn fake_node_accounts_are_refused() {
    let mut w = world().await;
    let staker_key = w.staker.key.insecure_clone();
    // A byte-for-byte copy of the real node, owned by another program.
    let fake_key = Pubkey::new_unique();
    let other_program = Pubkey::new_unique();
    w.s.chain
        .plant_copy(w.node, fake_key, Some(other_program))
        .await;
    let mut stake = ix::stake(
        w.staker.pubkey(),
        fake_key,
        w.s.mint,
        w.staker.tokens,
        Default::default(),
        T,
    );
    stake.accounts[3].pubkey = ix::position(&w.node, &w.staker.pubkey());
    refused(
        &mut w,
        stake,
        &staker_key,
        Anchor::AccountOwnedByWrongProgram,
    )
    .await;

    // The same copy owned by this program but not at the node's address.
    let fake_key = Pubkey::new_unique();
    w.s.chain.plant_copy(w.node, fake_key, None).await;
    let node: Node = w.s.chain.account(fake_key).await;
    assert_eq!(node.operator, w.op.pubkey());
    let stake = ix::stake(
        w.staker.pubkey(),
        fake_key,
        w.s.mint,
        w.staker.tokens,
        Default::default(),
        T,
    );
    refused(&mut w, stake, &staker_key, Anchor::ConstraintSeeds).await;
}

#[tokio::test]
async fn bad_amounts_are_refused() {
    let mut w = world().await;
    let staker = w.staker.key.insecure_clone();
    let zero = ix::stake(
        w.staker.pubkey(),
        w.node,
        w.s.mint,
        w.staker.tokens,
        Default::default(),
        0,
    );
    refused(&mut w, zero, &staker, StakingError::ZeroAmount).await;
    let epoch = w.s.config().await.epoch;
    let too_much = ix::request_unstake(
        w.staker.pubkey(),
        w.node,
        Default::default(),
        epoch,
        300_000 * T + 1,
    );
    refused(&mut w, too_much, &staker, StakingError::InsufficientStake).await;
    let op = w.op.key.insecure_clone();
    let low = ix::request_unstake(w.op.pubkey(), w.node, Default::default(), epoch, 1);
    refused(&mut w, low, &op, StakingError::OperatorBelowMinimum).await;
    let fresh = w.s.wallet(1_000_000 * T).await;
    let below = ix::create_node(
        fresh.pubkey(),
        w.s.mint,
        fresh.tokens,
        Default::default(),
        200_000 * T - 1,
    );
    w.s.chain
        .assert_refused(
            below,
            &[&fresh.key],
            StakingError::BelowMinimumOperatorStake,
            &[ix::config()],
        )
        .await;

    let mut bad = params();
    bad.activation_threshold = bad.min_operator_stake - 1;
    refused_params(&mut w, bad).await;
}

#[tokio::test]
async fn parameters_out_of_bounds_are_refused() {
    let mut w = world().await;
    let authority = w.s.chain.payer();
    type Change = fn(&mut Params);
    let cases: [(&str, Change); 8] = [
        // Near i64::MAX, request_unstake's `now + cooldown` would overflow.
        ("cooldown near i64::MAX", |p| {
            p.unstake_cooldown = i64::MAX - 1
        }),
        ("cooldown over a year", |p| {
            p.unstake_cooldown = aether_staking::constants::MAX_UNSTAKE_COOLDOWN + 1
        }),
        ("epoch over 30 days", |p| {
            p.epoch_length = aether_staking::constants::MAX_EPOCH_LENGTH + 1
        }),
        ("epoch under a minute", |p| {
            p.epoch_length = aether_staking::constants::MIN_EPOCH_LENGTH - 1
        }),
        ("negative epoch", |p| p.epoch_length = -DAY),
        // Envelopes that overflow would make every later crank fail.
        ("staker envelope base near u64::MAX", |p| {
            p.staker_envelope_base = u64::MAX
        }),
        ("per-node envelope overflowing at 128 nodes", |p| {
            p.staker_envelope_per_node = u64::MAX / 100
        }),
        ("operator and staker envelopes overflowing together", |p| {
            p.operator_envelope = u64::MAX / 2 + 1;
            p.staker_envelope_base = u64::MAX / 2 + 1;
        }),
    ];
    for (what, change) in cases {
        let mut bad = params();
        change(&mut bad);
        println!("refusing: {what}");
        refused_params(&mut w, bad).await;
    }
    // The bounds themselves are accepted.
    let mut edge = params();
    edge.epoch_length = aether_staking::constants::MAX_EPOCH_LENGTH;
    edge.unstake_cooldown = aether_staking::constants::MAX_UNSTAKE_COOLDOWN;
    let at_bounds = update::staking_params(authority, edge);
    w.s.chain
        .send(&[at_bounds], &[])
        .await
        .expect("at the bounds");
}

#[tokio::test]
async fn activation_records_are_checked() {
    let mut w = world().await;
    w.s.next_epoch().await;
    w.s.next_epoch().await;
    let staker = w.staker.key.insecure_clone();
    // The node matured at the close of epoch 0 and has not been touched since.
    let missing = ix::stake(
        w.staker.pubkey(),
        w.node,
        w.s.mint,
        w.staker.tokens,
        Default::default(),
        T,
    );
    refused(
        &mut w,
        missing,
        &staker,
        StakingError::ActivationRecordRequired,
    )
    .await;
    let wrong = ix::stake(
        w.staker.pubkey(),
        w.node,
        w.s.mint,
        w.staker.tokens,
        ix::CatchUp {
            activation_record: Some(ix::epoch_record(1)),
            incoming: None,
        },
        T,
    );
    refused(&mut w, wrong, &staker, StakingError::WrongActivationRecord).await;
    // With the right one it goes through, and the node is active.
    w.s.stake(&w.staker, w.node, T).await.unwrap();
}

#[tokio::test]
async fn stake_waits_for_an_overdue_epoch_to_be_cranked() {
    let mut w = world().await;
    let staker_key = w.staker.key.insecure_clone();
    w.s.chain.advance(DAY).await;
    // The epoch is over and nobody cranked it: new stake would share in it.
    let ix = ix::stake(
        w.staker.pubkey(),
        w.node,
        w.s.mint,
        w.staker.tokens,
        Default::default(),
        T,
    );
    refused(&mut w, ix, &staker_key, StakingError::EpochOverdue).await;
    w.s.next_epoch().await;
    w.s.stake(&w.staker, w.node, T)
        .await
        .expect("after the crank");

    // A cooldown shorter than an epoch is refused.
    let mut short = params();
    short.unstake_cooldown = short.epoch_length - 1;
    refused_params(&mut w, short).await;
}

#[tokio::test]
async fn the_authority_changes_hands_in_two_steps() {
    let mut w = world().await;
    let payer = w.s.chain.ctx.payer.insecure_clone();
    let (next, mallory) = (Keypair::new(), Keypair::new());
    let propose = |to: Pubkey| update::staking_authority(payer.pubkey(), to);
    // Nobody takes an authority that was not offered.
    refused(
        &mut w,
        ix::accept_authority(mallory.pubkey()),
        &mallory,
        StakingError::NotPendingAuthority,
    )
    .await;
    w.s.chain
        .assert_proposed::<Config>(propose(next.pubkey()), payer.pubkey(), next.pubkey())
        .await;
    refused(
        &mut w,
        ix::accept_authority(mallory.pubkey()),
        &mallory,
        StakingError::NotPendingAuthority,
    )
    .await;
    // Proposing the authority itself withdraws the proposal.
    w.s.chain
        .send(&[propose(payer.pubkey())], &[])
        .await
        .unwrap();
    let config: Config = w.s.chain.account(ix::config()).await;
    assert_eq!(config.pending_authority, None);
    refused(
        &mut w,
        ix::accept_authority(next.pubkey()),
        &next,
        StakingError::NotPendingAuthority,
    )
    .await;
    // Proposed again and accepted: the old authority is out.
    w.s.chain
        .send(&[propose(next.pubkey())], &[])
        .await
        .unwrap();
    w.s.chain
        .assert_accepted::<Config>(ix::accept_authority(next.pubkey()), &next)
        .await;
    refused(
        &mut w,
        propose(payer.pubkey()),
        &payer,
        StakingError::Unauthorized,
    )
    .await;
}
