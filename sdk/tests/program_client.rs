//! `AetherClient` (over anchor-client) against localnet: an operator opens
//! its node, a wallet stakes on it and opens a payment stream, each in a line.

use aether_localnet::{Config, Localnet};
use aether_sdk::programs::client::{AetherClient, ProgramClientError};
use aether_sdk::programs::escrow::{OpenStreamArgs, ServePolicy, StreamKind};
use solana_keypair::Keypair;
use solana_signer::Signer;

const TOKEN: u64 = 1_000_000; // 6 decimals

#[tokio::test(flavor = "multi_thread")]
async fn stake_open_a_stream_and_read_them_back() {
    let operator = Keypair::new();
    let alice = Keypair::new();
    let config = Config {
        rpc_port: aether_localnet::free_port_pair().expect("a free port pair"),
        slot_ms: 100,
        bootstrap: true,
        fund: vec![operator.pubkey(), alice.pubkey()],
        ..Config::default()
    };
    let localnet = Localnet::start(config).await.expect("localnet starts");
    aether_localnet::bootstrap(localnet.config(), &localnet.key_dir())
        .await
        .expect("bootstrap");
    let url = localnet.rpc_url();

    // anchor-client is blocking: it runs on a thread of its own.
    std::thread::spawn(move || {
        let op = AetherClient::new(&url, operator.insecure_clone());
        let wallet = AetherClient::new(&url, alice.insecure_clone());

        assert!(op.staking_node(&operator.pubkey()).unwrap().is_none());
        op.create_node(200_000 * TOKEN).unwrap();
        let node = op.staking_node(&operator.pubkey()).unwrap().unwrap();
        assert_eq!(node.total_stake, 200_000 * TOKEN);

        wallet.stake(&operator.pubkey(), 1_500 * TOKEN).unwrap();
        let position = wallet
            .stake_position(&operator.pubkey(), &alice.pubkey())
            .unwrap()
            .unwrap();
        assert_eq!(position.amount, 1_500 * TOKEN);
        let node = wallet.staking_node(&operator.pubkey()).unwrap().unwrap();
        assert_eq!(node.total_stake, 201_500 * TOKEN);

        // The program's refusal comes back as an error, and nothing moved.
        let err = wallet.stake(&operator.pubkey(), 0).unwrap_err();
        assert!(matches!(err, ProgramClientError::Client(_)), "{err}");
        let node = wallet.staking_node(&operator.pubkey()).unwrap().unwrap();
        assert_eq!(node.total_stake, 201_500 * TOKEN);
        // Staking on a node that does not exist names what is missing.
        let nobody = Keypair::new().pubkey();
        assert!(matches!(
            wallet.stake(&nobody, TOKEN),
            Err(ProgramClientError::Missing(_))
        ));

        let resource = [7u8; 32];
        assert!(wallet.stream(&alice.pubkey(), &resource).unwrap().is_none());
        wallet
            .open_stream(OpenStreamArgs {
                resource,
                kind: StreamKind::Compute,
                max_rate_per_second: 10,
                replicas: 2,
                deposit: 50 * TOKEN,
                serve: ServePolicy::MinScore(0),
                allowed: Vec::new(),
                size_bytes: 0,
            })
            .unwrap();
        op.top_up(&alice.pubkey(), &resource, 5 * TOKEN).unwrap();
        let stream = wallet.stream(&alice.pubkey(), &resource).unwrap().unwrap();
        assert_eq!(stream.owner, alice.pubkey());
        assert_eq!((stream.deposited, stream.replicas), (55 * TOKEN, 2));

        // A key that never anchored has no log.
        assert!(matches!(
            op.batch_log(&op.payer()),
            Err(aether_sdk::programs::client::ProgramClientError::Missing(_))
        ));
    })
    .join()
    .expect("the client thread");
    localnet.stop();
}
