//! Anchor batches as the allowlisted bootstrap key and as an active core
//! node, prove items against them, and watch a submitter's window roll over
//! without touching another's.

use aether_anchors::constants::WINDOW;
use aether_anchors::errors::AnchorsError;
use aether_anchors::events::BatchAnchored;
use aether_anchors::state::{AnchorsConfig, BatchLog};
use aether_program_testkit::solana_signer::Signer;
use aether_program_testkit::{assert_error, find_event};
use aether_sdk::programs::anchors as aix;
use aether_sdk::programs::anchors::merkle;

use super::common::*;

#[tokio::test]
async fn anchor_and_prove() {
    let mut w = World::new().await;
    let payer = w.s.chain.payer();

    // The bootstrap key anchors batch 1.
    let (items1, leaves1, root1) = batch("one", 3);
    let cid = b"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy".to_vec();
    let events =
        w.s.chain
            .send(
                &[aix::submit_batch_allowlisted(payer, root1, 3, cid.clone())],
                &[],
            )
            .await
            .unwrap();
    let anchored: BatchAnchored = find_event(&events).expect("BatchAnchored event");
    assert_eq!((anchored.seq, anchored.root, anchored.count), (1, root1, 3));
    assert_eq!(anchored.content_id, cid);
    assert_eq!(anchored.submitter, payer);

    // An active core node anchors batch 2 by showing its staking node and record.
    let (items2, leaves2, root2) = batch("two", 1_000);
    let core = keypair(&w.core);
    let events =
        w.s.chain
            .send(
                &[aix::submit_batch(
                    core.pubkey(),
                    true,
                    root2,
                    1_000,
                    b"cid-2".to_vec(),
                )],
                &[&core],
            )
            .await
            .unwrap();
    assert_eq!(find_event::<BatchAnchored>(&events).unwrap().seq, 2);

    // Each batch is in its submitter's own log, which names it.
    let payer_log = BatchLog::decode(&w.s.chain.raw(aix::log(&payer)).await.unwrap()).unwrap();
    let core_log =
        BatchLog::decode(&w.s.chain.raw(aix::log(&core.pubkey())).await.unwrap()).unwrap();
    assert_eq!((payer_log.submitter, payer_log.last_seq()), (payer, 1));
    assert_eq!(
        (core_log.submitter, core_log.last_seq()),
        (core.pubkey(), 2)
    );
    assert!(core_log.get(1).is_none(), "batch 1 is the payer's");

    // Every item of batch 1 proves; an item of batch 2 does not prove against batch 1.
    for (i, item) in items1.iter().enumerate() {
        let proof = merkle::proof(&leaves1, i).unwrap();
        w.verify(&payer, 1, item.clone(), proof)
            .await
            .unwrap_or_else(|e| panic!("item {i} of batch 1: {e:?}"));
    }
    let c = core.pubkey();
    for i in [0, 499, 999] {
        let proof = merkle::proof(&leaves2, i).unwrap();
        w.verify(&c, 2, items2[i].clone(), proof.clone())
            .await
            .unwrap();
        assert_error(
            w.verify(&payer, 1, items2[i].clone(), proof).await,
            AnchorsError::InvalidProof,
        );
    }
    // A forged item, a wrong position, a batch that does not exist.
    let proof = merkle::proof(&leaves2, 7).unwrap();
    assert_error(
        w.verify(&c, 2, b"forged".to_vec(), proof.clone()).await,
        AnchorsError::InvalidProof,
    );
    assert_error(
        w.verify(&c, 2, items2[8].clone(), proof.clone()).await,
        AnchorsError::InvalidProof,
    );
    assert_error(
        w.verify(&c, 3, items2[7].clone(), proof.clone()).await,
        AnchorsError::SeqNotInWindow,
    );
    // Batch 2 asked of the payer's log: not there.
    assert_error(
        w.verify(&payer, 2, items2[7].clone(), proof).await,
        AnchorsError::SeqNotInWindow,
    );
}

#[tokio::test]
async fn a_window_per_submitter_so_no_key_flushes_another() {
    let mut w = World::new().await;
    let payer = w.s.chain.payer();
    // The core node anchors batch 1.
    let core = keypair(&w.core);
    let (core_items, core_leaves, core_root) = batch("core", 2);
    w.s.chain
        .send(
            &[aix::submit_batch(
                core.pubkey(),
                true,
                core_root,
                2,
                b"c".to_vec(),
            )],
            &[&core],
        )
        .await
        .unwrap();
    // Another key (here the allowlisted one) pushes WINDOW + 8 junk roots,
    // several per transaction.
    let (first_items, first_leaves, first_root) = batch("first", 2);
    w.s.chain
        .send(
            &[aix::submit_batch_allowlisted(
                payer,
                first_root,
                2,
                b"c".to_vec(),
            )],
            &[],
        )
        .await
        .unwrap();
    for chunk in 0..(WINDOW / 8 + 1) {
        let ixs: Vec<_> = (0..8u32)
            .map(|i| {
                let mut root = [0u8; 32];
                root[..4].copy_from_slice(&(chunk * 8 + i).to_le_bytes());
                aix::submit_batch_allowlisted(payer, root, 1, b"c".to_vec())
            })
            .collect();
        w.s.chain.send(&ixs, &[]).await.unwrap();
    }
    let data = w.s.chain.raw(aix::log(&payer)).await.unwrap();
    assert_eq!(
        data.len(),
        BatchLog::space(WINDOW as usize),
        "a log never grows"
    );
    println!("BatchLog account: {} bytes", data.len());
    let log = BatchLog::decode(&data).unwrap();
    assert_eq!(log.pushed, u64::from(WINDOW) + 9);
    assert_eq!(log.entries.len(), WINDOW as usize);
    assert!(log.entries.iter().all(|e| e.submitter == payer));
    // Its own first batch (2) has left its window...
    let proof = merkle::proof(&first_leaves, 0).unwrap();
    assert_error(
        w.verify(&payer, 2, first_items[0].clone(), proof).await,
        AnchorsError::SeqNotInWindow,
    );
    // ...and the core node's batch 1 is still there: nobody else writes to its log.
    let proof = merkle::proof(&core_leaves, 1).unwrap();
    w.verify(&core.pubkey(), 1, core_items[1].clone(), proof)
        .await
        .expect("the core node's root outlives another key's flood");
    let config: AnchorsConfig = w.s.chain.account(aix::config()).await;
    assert_eq!(config.last_seq, u64::from(WINDOW) + 10);
}

#[tokio::test]
async fn other_programs_verify_by_cpi() {
    use aether_program_testkit::cpi_probe;
    let mut w = World::new().await;
    let payer = w.s.chain.payer();
    let (items, leaves, root) = batch("cpi", 5);
    w.s.chain
        .send(
            &[aix::submit_batch_allowlisted(payer, root, 5, b"c".to_vec())],
            &[],
        )
        .await
        .unwrap();
    // Another program calls verify_inclusion: it succeeds for a member...
    let proof = merkle::proof(&leaves, 2).unwrap();
    w.s.chain
        .send(
            &[cpi_probe::wrap(aix::verify_inclusion(
                &payer,
                1,
                items[2].clone(),
                proof.clone(),
            ))],
            &[],
        )
        .await
        .expect("verify_inclusion by CPI");
    // ...and the caller sees the refusal for anything else.
    assert_error(
        w.s.chain
            .send(
                &[cpi_probe::wrap(aix::verify_inclusion(
                    &payer,
                    1,
                    items[3].clone(),
                    proof,
                ))],
                &[],
            )
            .await,
        AnchorsError::InvalidProof,
    );
}
