use aether_program_testkit::world::*;
use aether_program_testkit::{Keypair, RawEvent, TransactionError};
use aether_registry::RegisterCoreNodeArgs;
use aether_sdk::programs::anchors as aix;
use aether_sdk::programs::anchors::merkle::{self, Hash32, MerkleProof};
use anchor_lang::prelude::Pubkey;

pub use aether_program_testkit::world::{Setup, Wallet, T};

/// A chain with all three programs initialized, the payer allowlisted, an
/// active registered core node (`core`) and an inactive one (`idle`), in epoch 1.
pub struct World {
    pub s: Setup,
    pub core: Wallet,
    pub idle: Wallet,
}

impl World {
    pub async fn new() -> Self {
        let mut s = Setup::new(params()).await;
        let authority = s.chain.payer();
        s.initialize_registry(6_667, vec![aix::initialize(authority, vec![authority])])
            .await;
        let mut nodes = Vec::new();
        for (name, stake) in [("core", 500_000), ("idle", 200_000)] {
            let args = RegisterCoreNodeArgs {
                endpoint: format!("https://{name}.test"),
                p2p_address: format!("/dns4/{name}.test/tcp/4025"),
            };
            nodes.push(s.core_node(1_000_000 * T, stake * T, args).await);
        }
        s.next_epoch().await;
        let idle = nodes.pop().unwrap();
        let core = nodes.pop().unwrap();
        Self { s, core, idle }
    }

    /// Sends `verify_inclusion` of `item` in `submitter`'s batch `seq`,
    /// signed by the payer alone.
    pub async fn verify(
        &mut self,
        submitter: &Pubkey,
        seq: u64,
        item: Vec<u8>,
        proof: MerkleProof,
    ) -> Result<Vec<RawEvent>, TransactionError> {
        self.s
            .chain
            .send(&[aix::verify_inclusion(submitter, seq, item, proof)], &[])
            .await
    }
}

/// A batch of `n` made-up item hashes (hex sha256 strings, as messages carry).
pub fn batch(tag: &str, n: usize) -> (Vec<Vec<u8>>, Vec<Hash32>, Hash32) {
    let items: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let digest = merkle::leaf_hash(format!("{tag}-{i}").as_bytes());
            digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into_bytes()
        })
        .collect();
    let leaves: Vec<Hash32> = items.iter().map(|i| merkle::leaf_hash(i)).collect();
    let root = merkle::root(&leaves).unwrap();
    (items, leaves, root)
}

pub fn keypair(w: &Wallet) -> Keypair {
    w.key.insecure_clone()
}
