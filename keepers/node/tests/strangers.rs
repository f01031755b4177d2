//! What a stranger can do with someone else's item hash: a copy of the
//! message signed by another key, or a claim that the hash is content to
//! be uploaded. Neither blocks nor takes over the genuine message, which
//! is stored with exactly the sender, signature and content that were
//! checked. Listings refuse page numbers beyond any database, a client
//! sending headers slowly is cut off, the claims waiting on one hash are
//! bounded, one source cannot hold every
//! connection, and floats come back with the digits that were signed.

use aether_node::Node;
use aether_sdk::message::sign::{Signer, SolanaAccount};
use aether_sdk::message::{ItemType, MessageBuilder, PostBuilder, SignedMessage, StoreBuilder};
use aether_sdk::node_client::{ClientError, MessageStatus};
use serde_json::{json, Value};

mod common;

/// `signed` as `who` would send it: the same item hash, `who`'s sender and
/// signature, and `item_type` as given (content left off when storage).
fn resent_by(signed: &SignedMessage, who: &SolanaAccount, item_type: ItemType) -> SignedMessage {
    let mut copy = signed.clone();
    copy.message.sender = who.address();
    copy.message.item_type = item_type;
    if item_type == ItemType::Storage {
        copy.message.item_content = None;
    }
    copy.storage_content = None;
    copy.message.signature = None;
    copy.message.signature = Some(who.sign_buffer(&copy.message.verification_buffer()));
    copy
}

/// The posts listed for `address`.
async fn posts_of(node: &Node, address: &str) -> usize {
    let url = format!("{}/api/v0/posts.json?addresses={address}", node.url());
    let body: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    body["posts"].as_array().map_or(0, Vec::len)
}

fn note(who: &SolanaAccount, inline: bool) -> SignedMessage {
    let builder = MessageBuilder::new(who).channel("TEST");
    let builder = if inline {
        builder
    } else {
        builder.inline_limit(0)
    };
    builder
        .build(PostBuilder::new("note").content(json!({"words": "mine"})))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_strangers_signed_copy_never_blocks_the_genuine_message() {
    let (_dir, node, client) = common::temp_node().await;
    let (alice, mallory) = (SolanaAccount::generate(), SolanaAccount::generate());
    let genuine = note(&alice, true);
    let hash = genuine.message.item_hash.clone();

    // Mallory races Alice's message to the node under her own key.
    let copy = resent_by(&genuine, &mallory, ItemType::Inline);
    assert!(matches!(
        client.post_message(&copy, true).await,
        Err(ClientError::Rejected { .. })
    ));
    assert_eq!(
        client.message(&hash).await.unwrap().status,
        MessageStatus::Rejected
    );

    // Alice's own message is decided on its own, and stored as she sent it.
    assert_eq!(
        client.post_message(&genuine, true).await.unwrap(),
        MessageStatus::Processed
    );
    let got = client.message(&hash).await.unwrap();
    assert_eq!(got.status, MessageStatus::Processed);
    assert_eq!(got.message.as_ref(), Some(&genuine.message));
    assert_eq!(posts_of(&node, &alice.address()).await, 1);

    // Mallory's copy again changes nothing.
    let _ = client.post_message(&copy, true).await;
    let again = client.message(&hash).await.unwrap();
    assert_eq!(again.message.as_ref(), Some(&genuine.message));
    assert_eq!(posts_of(&node, &mallory.address()).await, 0);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_strangers_storage_claim_never_takes_the_message() {
    let (_dir, node, client) = common::temp_node().await;
    let (alice, mallory) = (SolanaAccount::generate(), SolanaAccount::generate());

    // Inline: Mallory claims the hash is content she will upload, and never does.
    let genuine = note(&alice, true);
    let claim = resent_by(&genuine, &mallory, ItemType::Storage);
    assert_eq!(
        client.post_message(&claim, false).await.unwrap(),
        MessageStatus::Pending
    );
    assert_eq!(
        client.post_message(&genuine, true).await.unwrap(),
        MessageStatus::Processed
    );
    let got = client.message(&genuine.message.item_hash).await.unwrap();
    assert_eq!(got.message.as_ref(), Some(&genuine.message));
    assert_eq!(posts_of(&node, &alice.address()).await, 1);
    assert_eq!(posts_of(&node, &mallory.address()).await, 0);

    // Stored apart: Mallory's claim comes first, Alice's waits beside it,
    // and the content arriving decides each on its own.
    let genuine = note(&alice, false);
    let content = genuine.storage_content.clone().unwrap();
    let claim = resent_by(&genuine, &mallory, ItemType::Storage);
    let mut waiting = genuine.clone();
    waiting.storage_content = None;
    for signed in [&claim, &waiting] {
        assert_eq!(
            client.post_message(signed, false).await.unwrap(),
            MessageStatus::Pending
        );
    }
    let url = format!("{}/api/v0/storage/add_json", node.url());
    let stored: Value = common::post_json(&reqwest::Client::new(), &url, content)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["hash"], genuine.message.item_hash.as_str());
    let mut shown = None;
    for _ in 0..100 {
        let got = client.message(&genuine.message.item_hash).await.unwrap();
        if got.status == MessageStatus::Processed {
            shown = got.message;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        shown.as_ref(),
        Some(&genuine.message),
        "Alice's, as she sent it"
    );
    assert_eq!(posts_of(&node, &alice.address()).await, 2);
    assert_eq!(posts_of(&node, &mallory.address()).await, 0);
    node.stop().await;
}

/// The signature covers the sender, the message type and the item hash,
/// not the item type: anyone relaying Alice's waiting STORE can replay it
/// as "content stored apart" with the content left off. The replay waits
/// beside hers and never blanks it; her file arriving processes hers, as
/// she sent it.
#[tokio::test(flavor = "multi_thread")]
async fn a_replay_changing_the_item_type_never_blanks_a_waiting_store() {
    let (dir, node, client) = common::temp_node().await;
    let alice = SolanaAccount::generate();
    let bytes = b"alice's file".to_vec();
    let file = aether_sdk::content_id::sha256_hex(&bytes);
    let store = MessageBuilder::new(&alice)
        .channel("TEST")
        .build(StoreBuilder::new(file.clone()).unwrap())
        .unwrap();
    let hash = store.message.item_hash.clone();
    assert_eq!(
        client.post_message(&store, true).await.unwrap(),
        MessageStatus::Pending
    );
    let replay = resent_by(&store, &alice, ItemType::Storage);
    assert_eq!(replay.message.signature, store.message.signature);
    let _ = client.post_message(&replay, false).await;
    let shown = client.message(&hash).await.unwrap();
    assert_eq!(shown.status, MessageStatus::Pending);
    assert_eq!(
        shown.message.as_ref(),
        Some(&store.message),
        "still Alice's"
    );

    let uploaded = common::upload(&client, dir.path(), "upload", &bytes).await;
    assert_eq!(uploaded, file);
    let done = client
        .wait_processed(&hash, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(done.status, MessageStatus::Processed);
    assert_eq!(done.message.as_ref(), Some(&store.message));
    node.stop().await;
}

/// Keys cost nothing, so the claims that may wait on one hash are bounded;
/// the genuine message, sent with its content, never waits and is never
/// refused for it.
#[tokio::test(flavor = "multi_thread")]
async fn claims_waiting_on_one_hash_are_bounded_and_never_block_the_genuine_message() {
    let (_dir, node, client) = common::temp_node().await;
    let alice = SolanaAccount::generate();
    let genuine = note(&alice, false);
    let hash = genuine.message.item_hash.clone();

    for _ in 0..aether_node::process::MAX_CLAIMS_PER_HASH {
        let claim = resent_by(&genuine, &SolanaAccount::generate(), ItemType::Storage);
        assert_eq!(
            client.post_message(&claim, false).await.unwrap(),
            MessageStatus::Pending
        );
    }
    // One more stranger is refused, and says why.
    let claim = resent_by(&genuine, &SolanaAccount::generate(), ItemType::Storage);
    match client.post_message(&claim, false).await {
        Err(ClientError::Rejected { body }) => {
            let why = body["error"]["message"].as_str().unwrap_or_default();
            assert!(why.contains("already wait"), "{body}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        client.message(&hash).await.unwrap().status,
        MessageStatus::Pending
    );

    // Alice sends hers with its content: processed, as she sent it.
    assert_eq!(
        client.post_message(&genuine, true).await.unwrap(),
        MessageStatus::Processed
    );
    let got = client.message(&hash).await.unwrap();
    assert_eq!(got.message.as_ref(), Some(&genuine.message));
    assert_eq!(posts_of(&node, &alice.address()).await, 1);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn page_numbers_beyond_any_listing_are_a_bad_query() {
    let dir = tempfile::tempdir().unwrap();
    let node = common::start(dir.path()).await;
    let http = reqwest::Client::new();
    for path in ["messages.json", "posts.json"] {
        for page in [
            "9223372036854775807",
            "1e18",
            "inf",
            "1e300",
            "0",
            "-1",
            "1.5",
            "NaN",
        ] {
            let url = format!("{}/api/v0/{path}?page={page}", node.url());
            let response = http.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 400, "{path} page={page}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "bad_query", "{path} page={page}");
        }
        // The last page that fits is an empty page, not an error.
        let url = format!(
            "{}/api/v0/{path}?page=1000000000000&pagination=1000",
            node.url()
        );
        assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
        // Pages hold at most MAX_PER_PAGE, whatever is asked.
        let url = format!("{}/api/v0/{path}?pagination=1000000000", node.url());
        let body = common::get_json(&http, &url).await;
        assert_eq!(
            body["pagination_per_page"],
            aether_node::api::MAX_PER_PAGE,
            "{path}"
        );
    }
    node.stop().await;
}

/// Reads until the peer closes (or errors); false if it is still open after `wait`.
async fn closed_within(stream: &mut tokio::net::TcpStream, wait: std::time::Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_headers_are_cut_off_and_one_source_cannot_hold_every_connection() {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;
    let dir = tempfile::tempdir().unwrap();

    // One header line every 300 ms: cut off at the 1 s header deadline.
    let node = common::start_with(dir.path().join("slow"), |config| {
        config.connections.header_timeout = Duration::from_secs(1);
    })
    .await;
    let mut slow = TcpStream::connect(node.addr()).await.unwrap();
    slow.write_all(b"GET /api/v0/messages.json HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut cut = false;
    while started.elapsed() < Duration::from_secs(8) {
        if slow.write_all(b"X-Slow: 1\r\n").await.is_err()
            || closed_within(&mut slow, Duration::from_millis(300)).await
        {
            cut = true;
            break;
        }
    }
    assert!(
        cut,
        "a slow-header client still held its connection after 8 s"
    );
    node.stop().await;

    // Eight connections from one address at most: the ninth is closed at
    // once, and a slot freed lets a request through again.
    let node = common::start_with(dir.path().join("flood"), |config| {
        config.connections.header_timeout = Duration::from_secs(60);
        config.connections.per_source = 8;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(node.addr()).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ninth = TcpStream::connect(node.addr()).await.unwrap();
    assert!(closed_within(&mut ninth, Duration::from_secs(5)).await);
    assert!(!closed_within(&mut held[0], Duration::from_millis(200)).await);
    held.pop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let url = format!("{}/api/v0/messages.json", node.url());
    let answer = reqwest::Client::new().get(&url).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    drop(held);
    node.stop().await;
}

/// A connection upgraded to a WebSocket still counts against its source
/// (hyper forgets an upgraded connection, and streams used to escape the
/// cap), and the node's stop ends every open stream.
#[tokio::test(flavor = "multi_thread")]
async fn websockets_count_against_their_source_and_end_with_the_node() {
    use futures_util::StreamExt;
    use std::time::Duration;
    use tokio::net::TcpStream;
    let (_dir, node, client) =
        common::temp_node_with(|config| config.connections.per_source = 2).await;
    let filter = aether_sdk::node_client::MessageFilter::default();
    let mut streams = Vec::new();
    for _ in 0..2 {
        streams.push(Box::pin(client.subscribe(&filter, 0).await.unwrap()));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut third = TcpStream::connect(node.addr()).await.unwrap();
    assert!(
        closed_within(&mut third, Duration::from_secs(5)).await,
        "two open streams fill a cap of two"
    );

    let stopped = tokio::time::timeout(Duration::from_secs(8), node.stop()).await;
    assert!(stopped.is_ok(), "the node's stop waited on its streams");
    for stream in &mut streams {
        let end = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(_)) = stream.next().await {}
        })
        .await;
        assert!(end.is_ok(), "a stream outlived the node");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn floats_come_back_with_the_digits_that_were_signed() {
    let (_dir, node, client) = common::temp_node().await;
    let alice = SolanaAccount::generate();
    // Times as clients stamp them, and a spread of magnitudes: a fixed
    // sequence, so the test is the same on every run.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut values = vec![1796328126.6486077, 0.1, 1e-7, 123456789.98765433];
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mantissa = (x >> 11) as f64 / (1u64 << 53) as f64;
        values.push(1_700_000_000.0 + mantissa * 200_000_000.0);
    }
    let signed = common::post(&alice, "floats", json!({ "values": values }));
    assert_eq!(
        client.post_message(&signed, true).await.unwrap(),
        MessageStatus::Processed
    );
    let url = format!(
        "{}/api/v0/messages/{}",
        node.url(),
        signed.message.item_hash
    );
    let served: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    let served = served["message"]["content"]["content"]["values"]
        .as_array()
        .expect("the served content")
        .iter()
        .map(|v| v.as_f64().unwrap().to_bits())
        .collect::<Vec<_>>();
    let sent = values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(served, sent);
    node.stop().await;
}
