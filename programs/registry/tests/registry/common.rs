use aether_program_testkit::solana_signer::Signer;
use aether_program_testkit::world::*;
use aether_program_testkit::{registry as rix, Keypair, TransactionError};
use aether_registry::state::{Capacity, NodeRecord};
use aether_registry::{RegisterCoreNodeArgs, RegisterResourceNodeArgs};
use anchor_lang::prelude::Pubkey;

pub use aether_program_testkit::world::{Setup, Wallet, T};

/// Three active core nodes (a, b, c), one inactive (d), all registered, and
/// a resource node under `a`. The staking epoch is 1.
pub struct World {
    pub s: Setup,
    pub a: Wallet,
    pub b: Wallet,
    pub c: Wallet,
    pub d: Wallet,
    pub owner: Wallet,
    pub resource_key: Keypair,
    pub resource: Pubkey,
}

pub fn core_args(name: &str) -> RegisterCoreNodeArgs {
    RegisterCoreNodeArgs {
        endpoint: format!("https://{name}.aether.test"),
        p2p_address: format!("/dns4/{name}.aether.test/tcp/4025"),
    }
}

pub fn resource_args() -> RegisterResourceNodeArgs {
    RegisterResourceNodeArgs {
        endpoint: "https://crn.aether.test".into(),
        capacity: Capacity {
            vcpus: 8,
            memory_mib: 16_384,
            disk_gib: 500,
        },
        min_price_compute_per_second: 12,
        min_price_storage_per_gb_month: 3_000,
    }
}

impl World {
    pub async fn new() -> Self {
        let mut s = Setup::new(params()).await;
        s.initialize_registry(6_667, Vec::new()).await;
        let mut cores = Vec::new();
        for (name, stake) in [
            ("a", 500_000),
            ("b", 500_000),
            ("c", 500_000),
            ("d", 200_000),
        ] {
            cores.push(s.core_node(1_000_000 * T, stake * T, core_args(name)).await);
        }
        s.next_epoch().await;
        let owner = s.wallet(0).await;
        let resource_key = Keypair::new();
        let parent = Self::core_record(&cores[0]);
        s.chain
            .send(
                &[rix::register_resource_node(
                    owner.pubkey(),
                    resource_key.pubkey(),
                    parent,
                    cores[0].pubkey(),
                    resource_args(),
                )],
                &[&owner.key, &resource_key, &cores[0].key],
            )
            .await
            .expect("register resource node");
        let resource = rix::record(&resource_key.pubkey());
        let d = cores.pop().unwrap();
        let c = cores.pop().unwrap();
        let b = cores.pop().unwrap();
        let a = cores.pop().unwrap();
        Self {
            s,
            a,
            b,
            c,
            d,
            owner,
            resource_key,
            resource,
        }
    }

    pub fn core_record(operator: &Wallet) -> Pubkey {
        rix::record(&aether_program_testkit::staking::node(&operator.pubkey()))
    }

    pub async fn record(&mut self, key: Pubkey) -> NodeRecord {
        self.s.chain.account(key).await
    }
}

/// `reporter` reports `score` for `record` in `epoch`.
pub async fn report(
    s: &mut Setup,
    reporter: &Wallet,
    record: Pubkey,
    epoch: u64,
    score: u16,
) -> Result<Vec<aether_program_testkit::RawEvent>, TransactionError> {
    s.chain
        .send(
            &[rix::report_score(reporter.pubkey(), record, epoch, score)],
            &[&reporter.key],
        )
        .await
}
