use aether_escrow::state::{ServePolicy, Stream, StreamKind};
use aether_escrow::OpenStreamArgs;
use aether_program_testkit::solana_signer::Signer;
use aether_program_testkit::world::*;
use aether_program_testkit::{
    registry as rix, staking as six, Keypair, RawEvent, TransactionError,
};
use aether_registry::state::Capacity;
use aether_registry::{RegisterCoreNodeArgs, RegisterResourceNodeArgs};
use aether_sdk::programs::escrow as eix;
use anchor_lang::prelude::Pubkey;

pub use aether_program_testkit::world::{Setup, Wallet};

/// A resource node: its owner, its registry record, and where it is paid
/// (the owner's associated token account).
pub struct Provider {
    pub owner: Wallet,
    pub record: Pubkey,
    pub payout: Pubkey,
}

/// Escrow initialized on the stake mint, one core node, and resource nodes
/// with the given minimum compute prices per second.
pub struct World {
    pub s: Setup,
    pub core_record: Pubkey,
    /// The core node's operator, who consents to resource nodes under it.
    pub core: Wallet,
}

impl World {
    pub async fn new() -> Self {
        let mut s = Setup::new(params()).await;
        let authority = s.chain.payer();
        let mint = s.mint;
        s.initialize_registry(6_667, vec![eix::initialize(authority, mint)])
            .await;
        let args = RegisterCoreNodeArgs {
            endpoint: "https://core.test".into(),
            p2p_address: "/dns4/core.test/tcp/4025".into(),
        };
        let core = s.core_node(1_000_000 * T, 200_000 * T, args).await;
        Self {
            s,
            core_record: rix::record(&six::node(&core.pubkey())),
            core,
        }
    }

    pub async fn provider(&mut self, min_price_per_second: u64) -> Provider {
        let owner = self.s.wallet(0).await;
        let identity = Keypair::new();
        let args = RegisterResourceNodeArgs {
            endpoint: "https://crn.test".into(),
            capacity: Capacity {
                vcpus: 4,
                memory_mib: 8_192,
                disk_gib: 100,
            },
            min_price_compute_per_second: min_price_per_second,
            min_price_storage_per_gb_month: min_price_per_second * 1_000,
        };
        self.s
            .chain
            .send(
                &[rix::register_resource_node(
                    owner.pubkey(),
                    identity.pubkey(),
                    self.core_record,
                    self.core.pubkey(),
                    args,
                )],
                &[&owner.key, &identity, &self.core.key],
            )
            .await
            .unwrap();
        let payout = self
            .s
            .chain
            .create_associated_token_account(self.s.mint, owner.pubkey())
            .await;
        Provider {
            owner,
            record: rix::record(&identity.pubkey()),
            payout,
        }
    }

    pub async fn stream(&mut self, key: Pubkey) -> Stream {
        self.s.chain.account(key).await
    }

    pub async fn open(
        &mut self,
        user: &Wallet,
        resource: [u8; 32],
        rate: u64,
        replicas: u8,
        deposit: u64,
    ) -> Result<Pubkey, TransactionError> {
        let args = OpenStreamArgs {
            resource,
            kind: StreamKind::Compute,
            max_rate_per_second: rate,
            replicas,
            deposit,
            serve: ServePolicy::MinScore(0),
            allowed: Vec::new(),
            size_bytes: 0,
        };
        self.open_with(user, args).await
    }

    /// Opens a stream from `user` (see [`World::open`]) and has `providers`
    /// join it, in order; all of it must go through.
    pub async fn open_joined(
        &mut self,
        user: &Wallet,
        resource: [u8; 32],
        rate: u64,
        replicas: u8,
        deposit: u64,
        providers: &[&Provider],
    ) -> Pubkey {
        let stream = self
            .open(user, resource, rate, replicas, deposit)
            .await
            .unwrap();
        for p in providers {
            self.join(p, stream).await.unwrap();
        }
        stream
    }

    /// Opens a stream from `user` with `args` as given.
    pub async fn open_with(
        &mut self,
        user: &Wallet,
        args: OpenStreamArgs,
    ) -> Result<Pubkey, TransactionError> {
        let resource = args.resource;
        self.s
            .chain
            .send(
                &[eix::open_stream(
                    user.pubkey(),
                    self.s.mint,
                    user.tokens,
                    args,
                )],
                &[&user.key],
            )
            .await?;
        Ok(eix::stream(&user.pubkey(), &resource))
    }

    pub async fn join(
        &mut self,
        p: &Provider,
        stream: Pubkey,
    ) -> Result<Vec<RawEvent>, TransactionError> {
        let slots = self.stream(stream).await.providers;
        let ix = eix::join_stream(
            p.owner.pubkey(),
            p.record,
            p.payout,
            self.s.mint,
            stream,
            &slots,
        );
        self.s.chain.send(&[ix], &[&p.owner.key]).await
    }

    pub async fn leave(
        &mut self,
        p: &Provider,
        stream: Pubkey,
    ) -> Result<Vec<RawEvent>, TransactionError> {
        let slots = self.stream(stream).await.providers;
        let ix = eix::leave_stream(p.owner.pubkey(), p.record, self.s.mint, stream, &slots);
        self.s.chain.send(&[ix], &[&p.owner.key]).await
    }

    pub async fn settle(&mut self, stream: Pubkey) -> Result<Vec<RawEvent>, TransactionError> {
        let slots = self.stream(stream).await.providers;
        self.s
            .chain
            .send(&[eix::settle(self.s.mint, stream, &slots)], &[])
            .await
    }

    pub async fn close(
        &mut self,
        user: &Wallet,
        stream: Pubkey,
    ) -> Result<Vec<RawEvent>, TransactionError> {
        let slots = self.stream(stream).await.providers;
        let ix = eix::close_stream(user.pubkey(), user.tokens, self.s.mint, stream, &slots);
        self.s.chain.send(&[ix], &[&user.key]).await
    }

    pub async fn balance(&mut self, w: &Wallet) -> u64 {
        self.s.chain.token_balance(w.tokens).await
    }

    /// What a provider has been paid so far.
    pub async fn earned(&mut self, p: &Provider) -> u64 {
        self.s.chain.token_balance(p.payout).await
    }
}
