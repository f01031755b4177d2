//! A real node on a free port with a real SQLite file, driven by the SDK's
//! `NodeClient` and by raw HTTP for hostile input.

use std::path::Path;
use std::time::Duration;

use aether_node::{Config, Node};
use aether_sdk::content_id::{cid_of_bytes, sha256_hex, CidVersion};
use aether_sdk::message::sign::{Signer, SolanaAccount};
use aether_sdk::message::{
    AggregateBuilder, ForgetBuilder, InstanceBuilder, MessageBuilder, PostBuilder, ProgramBuilder,
    SignedMessage, StoreBuilder,
};
use aether_sdk::node_client::{
    ClientError, MessageFilter, MessageStatus, NodeClient, PostPage, StorageEngine,
};
use serde_json::{json, Value};

mod common;

/// Files up to 210 MiB, and `request_timeout` for each request (but
/// uploads).
fn limits(request_timeout: Duration) -> impl FnOnce(&mut Config) {
    move |config: &mut Config| {
        config.max_file_size = 210 * 1024 * 1024;
        config.request_timeout = request_timeout;
    }
}

async fn start(dir: &Path) -> Node {
    common::start_with(dir, limits(Duration::from_secs(30))).await
}

/// A node as `start` makes it, in a fresh temp dir, and a client for it.
async fn temp_node() -> (tempfile::TempDir, Node, NodeClient) {
    common::temp_node_with(limits(Duration::from_secs(30))).await
}

/// The posts of type "blog": the first page, of ten.
async fn blog_posts(client: &NodeClient) -> PostPage {
    client
        .posts(
            &MessageFilter {
                types: vec!["blog".into()],
                ..Default::default()
            },
            1,
            10,
        )
        .await
        .unwrap()
}

/// The next item of `stream`, within 10 s.
async fn next_within_10s<S, T, E>(stream: &mut S) -> T
where
    S: futures_util::Stream<Item = Result<T, E>> + Unpin,
    E: std::fmt::Debug,
{
    use futures_util::StreamExt;
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

async fn total(client: &NodeClient) -> u64 {
    client
        .messages(&MessageFilter::default(), 1, 1)
        .await
        .unwrap()
        .pagination_total
}

#[tokio::test(flavor = "multi_thread")]
async fn every_message_type_posts_and_reads_back() {
    let (dir, node, client) = temp_node().await;
    let alice = SolanaAccount::generate();
    let b = MessageBuilder::new(&alice).channel("TEST");
    let post = |signed: SignedMessage| {
        let client = client.clone();
        async move {
            let status = client.post_message(&signed, true).await;
            (signed, status)
        }
    };

    // POST, then an amend of it.
    let (original, status) = post(
        b.build(PostBuilder::new("blog").content(json!({"title": "Hello"})))
            .unwrap(),
    )
    .await;
    assert_eq!(status.unwrap(), MessageStatus::Processed);
    let (_, status) = post(
        b.build(
            PostBuilder::new("amend")
                .content(json!({"title": "Hello, world"}))
                .reference(&original.message.item_hash),
        )
        .unwrap(),
    )
    .await;
    assert_eq!(status.unwrap(), MessageStatus::Processed);
    let posts = blog_posts(&client).await;
    assert_eq!(posts.pagination_total, 1);
    assert_eq!(posts.posts[0]["content"]["title"], "Hello, world");
    assert_eq!(
        posts.posts[0]["original_item_hash"],
        json!(original.message.item_hash)
    );

    // AGGREGATE keys merge.
    for part in [
        json!({"name": "Ada"}),
        json!({"age": 36}),
        json!({"name": "Ada L."}),
    ] {
        let (_, status) = post(b.build(AggregateBuilder::new("profile", part)).unwrap()).await;
        assert_eq!(status.unwrap(), MessageStatus::Processed);
    }
    let aggregates = client
        .aggregates(&alice.address(), &["profile"])
        .await
        .unwrap();
    assert_eq!(aggregates["profile"], json!({"name": "Ada L.", "age": 36}));

    // STORE of an uploaded file; PROGRAM and INSTANCE on stored volumes.
    let code = common::upload(&client, dir.path(), "code.zip", b"print('hi')").await;
    let runtime = common::upload(&client, dir.path(), "runtime.squashfs", &[7u8; 5000]).await;
    let (store, status) = post(b.build(StoreBuilder::new(&code).unwrap()).unwrap()).await;
    assert_eq!(status.unwrap(), MessageStatus::Processed);
    let (_, status) = post(
        b.build(ProgramBuilder::new(
            &store.message.item_hash,
            "main:app",
            &runtime,
        ))
        .unwrap(),
    )
    .await;
    assert_eq!(status.unwrap(), MessageStatus::Processed);
    let (_, status) = post(b.build(InstanceBuilder::new(&runtime, 2000)).unwrap()).await;
    assert_eq!(status.unwrap(), MessageStatus::Processed);
    // A PROGRAM on a volume nobody stored is rejected, naming the field.
    let missing = "ab".repeat(32);
    match post(
        b.build(ProgramBuilder::new(&missing, "main:app", &runtime))
            .unwrap(),
    )
    .await
    .1
    {
        Err(ClientError::Rejected { body }) => {
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("content.code.ref"),
                "{body}"
            )
        }
        other => panic!("{other:?}"),
    }

    // Each reads back with its status.
    let got = client.message(&store.message.item_hash).await.unwrap();
    assert_eq!(got.status, MessageStatus::Processed);
    assert_eq!(got.message.unwrap(), store.message);

    // The same message twice is stored once.
    let before = total(&client).await;
    assert_eq!(
        client.post_message(&store, true).await.unwrap(),
        MessageStatus::Processed
    );
    assert_eq!(total(&client).await, before);

    // FORGET removes the content and keeps a tombstone.
    let (forget, status) = post(
        b.build(ForgetBuilder::new(vec![original.message.item_hash.clone()]).reason("typo"))
            .unwrap(),
    )
    .await;
    assert_eq!(status.unwrap(), MessageStatus::Processed);
    let gone = client.message(&original.message.item_hash).await.unwrap();
    assert_eq!(gone.status, MessageStatus::Forgotten);
    assert_eq!(gone.forgotten_by, vec![forget.message.item_hash.clone()]);
    assert!(gone.raw["message"]["item_content"].is_null());
    let posts = blog_posts(&client).await;
    assert_eq!(posts.pagination_total, 0);

    // Nobody forgets another address's messages.
    let mallory = SolanaAccount::generate();
    let forged = MessageBuilder::new(&mallory)
        .build(ForgetBuilder::new(vec![store.message.item_hash.clone()]))
        .unwrap();
    assert!(matches!(
        client.post_message(&forged, true).await,
        Err(ClientError::Rejected { .. })
    ));
    assert_eq!(
        client
            .message(&store.message.item_hash)
            .await
            .unwrap()
            .status,
        MessageStatus::Processed
    );

    // Restarted on the same data, it has everything.
    let count = total(&client).await;
    node.stop().await;
    let node = start(dir.path()).await;
    let client = NodeClient::new(node.url());
    assert_eq!(total(&client).await, count);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delegate_may_post_and_a_stranger_may_not() {
    let (_dir, node, client) = temp_node().await;
    let owner = SolanaAccount::generate();
    let delegate = SolanaAccount::generate();
    let stranger = SolanaAccount::generate();

    let security = AggregateBuilder::new(
        "security",
        json!({"authorizations": [{"address": delegate.address(), "types": ["POST"], "channels": ["TEST"]}]}),
    );
    let signed = MessageBuilder::new(&owner).build(security).unwrap();
    client.post_message(&signed, true).await.unwrap();

    let on_behalf = |who: &SolanaAccount, channel: &str| {
        MessageBuilder::new(who)
            .channel(channel)
            .build(
                PostBuilder::new("note")
                    .address(owner.address())
                    .content(json!({"by": who.address()})),
            )
            .unwrap()
    };
    assert_eq!(
        client
            .post_message(&on_behalf(&delegate, "TEST"), true)
            .await
            .unwrap(),
        MessageStatus::Processed
    );
    for (who, channel) in [(&stranger, "TEST"), (&delegate, "OTHER")] {
        let signed = on_behalf(who, channel);
        match client.post_message(&signed, true).await {
            Err(ClientError::Rejected { body }) => assert!(body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("may not act")),
            other => panic!("{other:?}"),
        }
        let got = client.message(&signed.message.item_hash).await.unwrap();
        assert_eq!(got.status, MessageStatus::Rejected);
    }
    // A delegate cannot rewrite the owner's security aggregate.
    let grab = MessageBuilder::new(&delegate)
        .build(
            AggregateBuilder::new("security", json!({"authorizations": []}))
                .address(owner.address()),
        )
        .unwrap();
    assert!(matches!(
        client.post_message(&grab, true).await,
        Err(ClientError::Rejected { .. })
    ));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn files_of_any_size_and_an_oversized_one() {
    let (dir, node, client) = temp_node().await;
    let scratch = tempfile::tempdir().unwrap();
    for size in [0usize, 1, 262_145, 200 * 1024 * 1024] {
        let bytes: Vec<u8> = (0..size).map(|i| (i * 13 + i / 4096) as u8).collect();
        let path = scratch.path().join(format!("f{size}"));
        std::fs::write(&path, &bytes).unwrap();
        let sha = client
            .upload_file(&path, StorageEngine::Storage, |_, _| {})
            .await
            .unwrap();
        assert_eq!(sha, sha256_hex(&bytes));
        let cid = client
            .upload_file(&path, StorageEngine::Ipfs, |_, _| {})
            .await
            .unwrap();
        assert_eq!(cid, cid_of_bytes(&bytes, CidVersion::V0).to_string());
        for hash in [&sha, &cid] {
            let mut out = Vec::new();
            client
                .download_file(hash, &mut out, |_, _| {})
                .await
                .unwrap();
            assert_eq!(out.len(), size);
            assert!(out == bytes);
        }
    }
    // Over the 210 MiB limit: refused, and nothing stays on disk.
    let files_before = std::fs::read_dir(dir.path().join("files")).unwrap().count();
    let big = scratch.path().join("big");
    std::fs::write(&big, vec![1u8; 211 * 1024 * 1024]).unwrap();
    match client
        .upload_file(&big, StorageEngine::Storage, |_, _| {})
        .await
    {
        Err(ClientError::Http { status: 413, .. }) | Err(ClientError::Transport { .. }) => {}
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        std::fs::read_dir(dir.path().join("files")).unwrap().count(),
        files_before
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_input_gets_a_clear_4xx_and_stores_nothing() {
    let (_dir, node, client) = temp_node().await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v0/messages", node.url());
    let account = SolanaAccount::generate();
    let good = common::post(&account, "t", json!({"a": 1})).message;
    let good = serde_json::to_value(&good).unwrap();

    let mut wrong_hash = good.clone();
    wrong_hash["item_hash"] = json!("0".repeat(64));
    let mut forged = good.clone();
    forged["item_content"] = json!(good["item_content"]
        .as_str()
        .unwrap()
        .replace("\"a\":1", "\"a\":2"));
    forged["item_hash"] = json!(sha256_hex(
        forged["item_content"].as_str().unwrap().as_bytes()
    ));
    let mut unknown_type = good.clone();
    unknown_type["type"] = json!("SPAM");
    let mut huge_channel = good.clone();
    huge_channel["channel"] = json!("x".repeat(10_000));

    let cases: Vec<(Vec<u8>, u16, Option<&str>)> = vec![
        (b"{not json".to_vec(), 400, None),
        (
            json!({"nothing": 1}).to_string().into_bytes(),
            422,
            Some("message"),
        ),
        (
            json!({"message": wrong_hash}).to_string().into_bytes(),
            422,
            Some("item_hash"),
        ),
        (
            json!({"message": forged}).to_string().into_bytes(),
            422,
            Some("signature"),
        ),
        (
            json!({"message": unknown_type}).to_string().into_bytes(),
            422,
            Some("type"),
        ),
        (
            json!({"message": huge_channel}).to_string().into_bytes(),
            422,
            Some("channel"),
        ),
        (vec![b' '; 2 * 1024 * 1024], 413, None),
    ];
    for (body, status, field) in cases {
        let response = common::post_json(&http, &url, body).await;
        assert_eq!(response.status().as_u16(), status);
        if status != 413 {
            let body: Value = response.json().await.unwrap();
            assert!(body["error"]["code"].is_string(), "{body}");
            if let Some(field) = field {
                assert_eq!(body["error"]["field"], field, "{body}");
            }
        }
    }
    assert_eq!(total(&client).await, 0);
    let none = common::get_json(
        &http,
        &format!(
            "{}/api/v0/messages.json?msgStatuses=pending,rejected,processed",
            node.url()
        ),
    )
    .await;
    assert_eq!(none["pagination_total"], 0);
    let missing = http
        .get(format!("{}/api/v0/nothing", node.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stream_sends_history_then_live_messages_and_metrics_count() {
    let (_dir, node, client) = temp_node().await;
    let account = SolanaAccount::generate();
    let mut hashes = Vec::new();
    for (i, channel) in ["A", "B", "A"].iter().enumerate() {
        let signed = MessageBuilder::new(&account)
            .channel(*channel)
            .build(PostBuilder::new("n").content(json!({ "i": i })))
            .unwrap();
        client.post_message(&signed, true).await.unwrap();
        hashes.push(signed.message.item_hash);
    }
    let filter = MessageFilter {
        channels: vec!["A".into()],
        ..Default::default()
    };
    let mut stream = Box::pin(client.subscribe(&filter, 10).await.unwrap());
    // History first, oldest first, only channel A.
    assert_eq!(next_within_10s(&mut stream).await.item_hash, hashes[0]);
    assert_eq!(next_within_10s(&mut stream).await.item_hash, hashes[2]);
    // Then live.
    let live = MessageBuilder::new(&account)
        .channel("A")
        .build(PostBuilder::new("n").content(json!({"live": true})))
        .unwrap();
    client.post_message(&live, true).await.unwrap();
    let got = next_within_10s(&mut stream).await;
    assert_eq!(got.item_hash, live.message.item_hash);
    got.verify().unwrap();

    let http = reqwest::Client::new();
    let metrics = http
        .get(format!("{}/metrics", node.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("aether_node_messages_total{outcome=\"processed\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("aether_node_messages_stored 4"),
        "{metrics}"
    );
    let info = common::get_json(&http, &format!("{}/api/v0/info/public.json", node.url())).await;
    assert_eq!(info["node"], "aether-node");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn files_no_message_keeps_are_collected() {
    let (dir, node, client) =
        common::temp_node_with(|config| config.gc_grace = Duration::ZERO).await;
    let account = SolanaAccount::generate();
    let loose = common::upload(&client, dir.path(), "loose", b"nobody stores me").await;
    let kept = common::upload(&client, dir.path(), "kept", b"a STORE keeps me").await;
    let store = MessageBuilder::new(&account)
        .build(StoreBuilder::new(&kept).unwrap())
        .unwrap();
    client.post_message(&store, true).await.unwrap();

    assert_eq!(node.collect_garbage().await.unwrap(), vec![loose.clone()]);
    let mut out = Vec::new();
    assert!(matches!(
        client.download_file(&loose, &mut out, |_, _| {}).await,
        Err(ClientError::NotFound(_))
    ));
    assert!(!dir.path().join("files").join(&loose).exists());
    client
        .download_file(&kept, &mut out, |_, _| {})
        .await
        .unwrap();

    // Once its STORE is forgotten, the file goes too.
    let forget = MessageBuilder::new(&account)
        .build(ForgetBuilder::new(vec![store.message.item_hash.clone()]))
        .unwrap();
    client.post_message(&forget, true).await.unwrap();
    assert_eq!(node.collect_garbage().await.unwrap(), vec![kept.clone()]);
    assert!(matches!(
        client
            .download_file(&kept, &mut Vec::new(), |_, _| {})
            .await,
        Err(ClientError::NotFound(_))
    ));
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_trickles_its_request_gets_408() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let node = common::start_with(dir.path(), limits(Duration::from_secs(2))).await;
    let mut socket = tokio::net::TcpStream::connect(node.addr()).await.unwrap();
    // Headers promise a body that never comes.
    socket
        .write_all(b"POST /api/v0/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"sync\"")
        .await
        .unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let client = NodeClient::new(node.url());
    assert_eq!(total(&client).await, 0);
    node.stop().await;
}
