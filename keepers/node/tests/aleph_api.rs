//! The parts of Aleph's API beyond messages that clients use: every
//! aggregate (`/api/v0/aggregates.json`), posts as v1 lists them, an
//! address's files and balance, prices, and `contentFormat` on message
//! listings. The Python client's calls to them run in `python_client.rs`;
//! these check the answers themselves, their refusals, and prices at a
//! node that charges.

use std::path::Path;

use aether_node::charging::ChargingConfig;
use aether_node::{Config, Node};
use aether_sdk::message::sign::{Signer, SolanaAccount};
use aether_sdk::message::{AggregateBuilder, MessageBuilder, PostBuilder, StoreBuilder};
use aether_sdk::node_client::{MessageStatus, NodeClient, StorageEngine};
use serde_json::{json, Value};

async fn start(dir: &Path, charging: Option<ChargingConfig>) -> Node {
    let mut config = Config::new(dir);
    config.port = 0;
    config.charging = charging;
    Node::start(config).await.expect("the node starts")
}

async fn get(node: &Node, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{}{path}", node.url())).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// What the tests post: Alice's aggregate, post and STORE, Bob's aggregate.
struct Posted {
    alice: String,
    bob: String,
    post: String,
    store: String,
    file_size: u64,
}

async fn post_some(node: &Node, dir: &Path) -> Posted {
    let client = NodeClient::new(node.url());
    let (alice, bob) = (SolanaAccount::generate(), SolanaAccount::generate());
    let a = MessageBuilder::new(&alice).channel("API");
    for signed in [
        a.build(AggregateBuilder::new("profile", json!({"name": "alice"})))
            .unwrap(),
        MessageBuilder::new(&bob)
            .build(AggregateBuilder::new("profile", json!({"name": "bob"})))
            .unwrap(),
    ] {
        let status = client.post_message(&signed, true).await.unwrap();
        assert_eq!(status, MessageStatus::Processed);
    }
    let post = a
        .build(PostBuilder::new("note").content(json!({"words": "hello"})))
        .unwrap();
    assert_eq!(
        client.post_message(&post, true).await.unwrap(),
        MessageStatus::Processed
    );
    let bytes = vec![7u8; 3 * 1024 * 1024 / 2];
    let path = dir.join("upload");
    std::fs::write(&path, &bytes).unwrap();
    let file = client
        .upload_file(&path, StorageEngine::Storage, |_, _| {})
        .await
        .unwrap();
    let store = a.build(StoreBuilder::new(file).unwrap()).unwrap();
    assert_eq!(
        client.post_message(&store, true).await.unwrap(),
        MessageStatus::Processed
    );
    Posted {
        alice: alice.address(),
        bob: bob.address(),
        post: post.message.item_hash,
        store: store.message.item_hash,
        file_size: bytes.len() as u64,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn aggregates_posts_files_balances_and_content_formats_answer_as_aleph() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(&dir.path().join("node"), None).await;
    let p = post_some(&node, dir.path()).await;

    // Every aggregate, filtered, paged and sorted.
    for path in ["/api/v0/aggregates.json", "/api/v0/aggregates"] {
        let (status, body) = get(&node, &format!("{path}?keys=profile")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["pagination_total"], 2);
        assert_eq!(body["pagination_item"], "aggregates");
    }
    let (_, body) = get(
        &node,
        &format!("/api/v0/aggregates.json?addresses={}", p.alice),
    )
    .await;
    assert_eq!(body["aggregates"].as_array().unwrap().len(), 1);
    let first = &body["aggregates"][0];
    assert_eq!(first["content"], json!({"name": "alice"}));
    assert!(
        first["created"].as_str().unwrap().ends_with("+00:00"),
        "{first}"
    );
    let (_, body) = get(
        &node,
        "/api/v0/aggregates.json?pagination=1&page=2&sortBy=creation_time&sortOrder=1",
    )
    .await;
    assert_eq!(body["aggregates"][0]["address"], p.bob.as_str(), "{body}");
    for bad in ["pagination=501", "sortBy=size", "sortOrder=0", "page=0"] {
        let (status, body) = get(&node, &format!("/api/v0/aggregates.json?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }

    // Posts as v1 lists them: the document's nine fields.
    let (status, body) = get(&node, &format!("/api/v1/posts.json?addresses={}", p.alice)).await;
    assert_eq!(status, 200, "{body}");
    let post = &body["posts"][0];
    let mut keys: Vec<&str> = post
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "address",
            "channel",
            "content",
            "created",
            "item_hash",
            "last_updated",
            "original_item_hash",
            "original_type",
            "ref"
        ]
    );
    assert_eq!(post["item_hash"], p.post.as_str());
    assert_eq!(post["content"], json!({"words": "hello"}));

    // How much content a listing shows.
    let list = format!("/api/v0/messages.json?hashes={}", p.post);
    let (_, full) = get(&node, &list).await;
    assert_eq!(
        full["messages"][0]["content"]["content"],
        json!({"words": "hello"})
    );
    for none in ["&contentFormat=none", "&excludeContent=true"] {
        let (_, body) = get(&node, &format!("{list}{none}")).await;
        assert!(
            body["messages"][0].get("content").is_none(),
            "{none}: {body}"
        );
        assert_eq!(body["messages"][0]["item_hash"], p.post.as_str());
    }
    let (_, body) = get(&node, &format!("{list}&contentFormat=headers")).await;
    assert_eq!(
        body["messages"][0]["content"],
        json!({"address": p.alice, "type": "note"})
    );
    let (status, _) = get(&node, &format!("{list}&contentFormat=all")).await;
    assert_eq!(status, 400);

    // An address's files; none is a 404, as Aleph answers.
    let (status, body) = get(&node, &format!("/api/v0/addresses/{}/files", p.alice)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total_size"], p.file_size);
    assert_eq!(body["files"][0]["item_hash"], p.store.as_str());
    assert_eq!(body["files"][0]["size"], p.file_size);
    assert_eq!(body["files"][0]["type"], "file");
    let (status, _) = get(&node, &format!("/api/v0/addresses/{}/files", p.bob)).await;
    assert_eq!(status, 404);
    let (status, _) = get(
        &node,
        &format!("/api/v0/addresses/{}/files?page=1e300", p.alice),
    )
    .await;
    assert_eq!(status, 400);

    // A node that does not charge holds nothing against anyone.
    let (status, body) = get(&node, &format!("/api/v0/addresses/{}/balance", p.alice)).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["balance"].clone(), body["locked_amount"].clone()),
        (json!(0), json!(0))
    );
    let (status, body) = get(&node, &format!("/api/v0/price/{}", p.store)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["required_tokens"], 0);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn prices_are_what_charging_would_take() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    // Posted while free; priced after a restart with charging on. Pricing
    // reads only the node's own database, so no chain is needed here.
    let node = start(&data, None).await;
    let p = post_some(&node, dir.path()).await;
    node.stop().await;
    let charging = ChargingConfig::new("http://127.0.0.1:9");
    let per_mib = charging.costs.per_mib_stored;
    let node = start(&data, Some(charging)).await;

    // The 1.5 MiB file counts as 2 whole MiB.
    let (status, body) = get(&node, &format!("/api/v0/price/{}", p.store)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["required_tokens"], 2 * per_mib);
    assert_eq!(body["cost"], (2 * per_mib).to_string());
    assert_eq!(body["payment_type"], "hold");
    assert_eq!(body["charged_address"], p.alice.as_str());

    // Estimated before upload, by the size the content states.
    let content = json!({
        "address": p.alice, "time": 1.0, "item_type": "storage",
        "item_hash": "a".repeat(64), "estimated_size_mib": 5,
    });
    let message = json!({"message": {
        "type": "STORE", "item_content": content.to_string(), "sender": p.alice,
    }});
    let estimate: Value = reqwest::Client::new()
        .post(format!("{}/api/v0/price/estimate", node.url()))
        .json(&message)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(estimate["required_tokens"], 5 * per_mib, "{estimate}");

    // Only what is held is priced; unknown hashes and garbage are refused.
    let (status, _) = get(&node, &format!("/api/v0/price/{}", p.post)).await;
    assert_eq!(status, 400);
    let (status, _) = get(&node, &format!("/api/v0/price/{}", "0".repeat(64))).await;
    assert_eq!(status, 404);
    let garbage = reqwest::Client::new()
        .post(format!("{}/api/v0/price/estimate", node.url()))
        .body("{\"message\": {\"type\": \"STORE\"}}")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status().as_u16(), 422);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cursors_page_through_a_listing_without_repeats_or_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), None).await;
    let client = NodeClient::new(node.url());
    let alice = SolanaAccount::generate();
    let post = |n: u64| {
        MessageBuilder::new(&alice)
            .build(PostBuilder::new("note").content(json!({ "n": n })))
            .unwrap()
    };
    let mut posted = Vec::new();
    for n in 0..5 {
        let signed = post(n);
        assert_eq!(
            client.post_message(&signed, true).await.unwrap(),
            MessageStatus::Processed
        );
        posted.push(signed.message.item_hash);
    }

    // Newest first, two at a time; a message arriving after the first page
    // neither repeats one nor hides one.
    let list = format!(
        "/api/v0/messages.json?addresses={}&pagination=2",
        alice.address()
    );
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let (status, body) = get(&node, &format!("{list}&cursor={cursor}")).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("pagination_total").is_none(), "{body}");
        assert_eq!(body["pagination_per_page"], 2);
        for m in body["messages"].as_array().unwrap() {
            seen.push(m["item_hash"].as_str().unwrap().to_owned());
        }
        pages += 1;
        if pages == 1 {
            let late = post(99);
            client.post_message(&late, true).await.unwrap();
        }
        match body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    posted.reverse();
    assert_eq!(seen, posted);
    assert_eq!(pages, 3);

    for bad in [
        "cursor=zz",
        "cursor=&pagination=0",
        "cursor=&pagination=201",
    ] {
        let (status, body) = get(&node, &format!("/api/v0/messages.json?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn posts_page_by_cursor_too() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), None).await;
    let client = NodeClient::new(node.url());
    let alice = SolanaAccount::generate();
    let mut posted = Vec::new();
    for n in 0..3 {
        let signed = MessageBuilder::new(&alice)
            .build(PostBuilder::new("note").content(json!({ "n": n })))
            .unwrap();
        client.post_message(&signed, true).await.unwrap();
        posted.push(signed.message.item_hash);
    }
    posted.reverse();
    for version in ["v0", "v1"] {
        let list = format!(
            "/api/{version}/posts.json?addresses={}&pagination=2",
            alice.address()
        );
        let (status, first) = get(&node, &format!("{list}&cursor=")).await;
        assert_eq!(status, 200, "{first}");
        assert!(first.get("pagination_total").is_none(), "{first}");
        let cursor = first["next_cursor"]
            .as_str()
            .expect("a next page")
            .to_owned();
        let (_, second) = get(&node, &format!("{list}&cursor={cursor}")).await;
        assert!(second["next_cursor"].is_null(), "{second}");
        let seen: Vec<&str> = first["posts"]
            .as_array()
            .unwrap()
            .iter()
            .chain(second["posts"].as_array().unwrap())
            .map(|p| p["item_hash"].as_str().unwrap())
            .collect();
        assert_eq!(seen, posted, "{version}");
    }
    node.stop().await;
}
