//! `NodeClient` over real HTTP against the recorded contract of the core
//! node API v0: the paths, status codes and JSON shapes the reference
//! implementation (pyaleph) answers with, served here by a small axum
//! server. The core node of the next issue replaces this server in these
//! tests; until then it stands in for it, and checks what it receives with
//! the SDK's own verification.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aether_sdk::content_id::{cid_of_bytes, sha256_hex, CidVersion};
use aether_sdk::message::sign::{Signer, SolanaAccount};
use aether_sdk::message::{AggregateBuilder, Message, MessageBuilder, PostBuilder};
use aether_sdk::node_client::{
    ClientError, MessageFilter, MessageStatus, NodeClient, StorageEngine,
};
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::broadcast;

#[derive(Clone)]
struct Node {
    messages: Arc<Mutex<Vec<Message>>>,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    live: broadcast::Sender<Message>,
}

fn record(m: &Message) -> Value {
    let mut v = serde_json::to_value(m).unwrap();
    v["content"] = m
        .content()
        .map(|c| serde_json::from_str(&c.to_item_content()).unwrap())
        .unwrap_or(Value::Null);
    v["confirmed"] = json!(false);
    v
}

fn matches(m: &Message, q: &HashMap<String, String>) -> bool {
    let has = |key: &str, value: &str| {
        q.get(key)
            .is_none_or(|list| list.split(',').any(|x| x == value))
    };
    has("addresses", &m.sender)
        && has("channels", m.channel.as_deref().unwrap_or(""))
        && has("msgTypes", m.message_type.as_str())
}

/// The messages `node` holds that match `q`, in the order received.
fn matching(node: &Node, q: &HashMap<String, String>) -> Vec<Message> {
    node.messages
        .lock()
        .unwrap()
        .iter()
        .filter(|m| matches(m, q))
        .cloned()
        .collect()
}

async fn post_message(State(node): State<Node>, Json(body): Json<Value>) -> Response {
    let message = match Message::from_value(&body["message"]).and_then(|m| m.verify().map(|()| m)) {
        Ok(m) => m,
        Err(e) => return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(
                json!({"error_code": 1, "details": {"field": e.field(), "message": e.to_string()}}),
            ),
        )
            .into_response(),
    };
    node.messages.lock().unwrap().push(message.clone());
    let _ = node.live.send(message);
    let sync = body["sync"].as_bool().unwrap_or(false);
    let status = if sync {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let body = json!({"publication_status": {"status": "success", "failed": []}, "message_status": if sync {"processed"} else {"pending"}});
    (status, Json(body)).into_response()
}

async fn get_message(State(node): State<Node>, Path(hash): Path<String>) -> Response {
    match node.messages.lock().unwrap().iter().find(|m| m.item_hash == hash) {
        Some(m) => Json(json!({"status": "processed", "item_hash": hash, "reception_time": "2026-11-25T00:00:00Z", "message": record(m)})).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "message not found"}))).into_response(),
    }
}

async fn list(State(node): State<Node>, Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    let all = matching(&node, &q);
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let per: usize = q
        .get("pagination")
        .and_then(|p| p.parse().ok())
        .unwrap_or(20);
    let slice: Vec<Value> = all
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .map(record)
        .collect();
    Json(
        json!({"messages": slice, "pagination_page": page, "pagination_per_page": per, "pagination_total": all.len(), "pagination_item": "messages"}),
    )
}

async fn aggregates(
    State(node): State<Node>,
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let address = file.trim_end_matches(".json");
    let mut data = serde_json::Map::new();
    for m in node
        .messages
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.sender == address)
    {
        if let Ok(aether_sdk::message::Content::Aggregate(a)) = m.content() {
            let key = a.key.name().to_string();
            if q.get("keys")
                .is_some_and(|keys| !keys.split(',').any(|k| k == key))
            {
                continue;
            }
            let entry = data.entry(key).or_insert_with(|| json!({}));
            for (k, v) in a.content {
                entry[k] = v;
            }
        }
    }
    if data.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no aggregate"})),
        )
            .into_response();
    }
    Json(json!({"address": address, "data": data, "info": {}})).into_response()
}

async fn add_json(State(node): State<Node>, body: axum::body::Bytes) -> Json<Value> {
    let hash = sha256_hex(&body);
    node.files
        .lock()
        .unwrap()
        .insert(hash.clone(), body.to_vec());
    Json(json!({"status": "success", "hash": hash}))
}

async fn add_file(
    State(node): State<Node>,
    Path(engine): Path<String>,
    mut form: Multipart,
) -> Response {
    while let Some(field) = form.next_field().await.unwrap() {
        if field.name() == Some("file") {
            let bytes = field.bytes().await.unwrap();
            let hash = if engine == "ipfs" {
                cid_of_bytes(&bytes, CidVersion::V0).to_string()
            } else {
                sha256_hex(&bytes)
            };
            node.files
                .lock()
                .unwrap()
                .insert(hash.clone(), bytes.to_vec());
            return Json(json!({"status": "success", "hash": hash})).into_response();
        }
    }
    (StatusCode::UNPROCESSABLE_ENTITY, "no file part").into_response()
}

async fn raw(State(node): State<Node>, Path(hash): Path<String>) -> Response {
    match node.files.lock().unwrap().get(&hash) {
        Some(bytes) => bytes.clone().into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

async fn ws(
    State(node): State<Node>,
    Query(q): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade.on_upgrade(move |socket| stream(node, q, socket))
}

async fn stream(node: Node, q: HashMap<String, String>, mut socket: WebSocket) {
    use axum::extract::ws::Message as Frame;
    let mut live = node.live.subscribe();
    let history: usize = q.get("history").and_then(|h| h.parse().ok()).unwrap_or(10);
    let past = matching(&node, &q);
    for m in past.iter().skip(past.len().saturating_sub(history)) {
        let _ = socket.send(Frame::Text(record(m).to_string().into())).await;
    }
    while let Ok(m) = live.recv().await {
        if matches(&m, &q)
            && socket
                .send(Frame::Text(record(&m).to_string().into()))
                .await
                .is_err()
        {
            return;
        }
    }
}

async fn start_node() -> (String, Node) {
    let node = Node {
        messages: Default::default(),
        files: Default::default(),
        live: broadcast::channel(64).0,
    };
    let app = Router::new()
        .route("/api/v0/messages", post(post_message))
        .route("/api/v0/messages.json", get(list))
        .route("/api/v0/messages/{hash}", get(get_message))
        .route("/api/v0/aggregates/{file}", get(aggregates))
        .route("/api/v0/storage/add_json", post(add_json))
        .route("/api/v0/{engine}/add_file", post(add_file))
        .route("/api/v0/storage/raw/{hash}", get(raw))
        .route("/api/ws0/messages", get(ws))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(node.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, node)
}

#[tokio::test]
async fn messages_post_list_get_and_stream() {
    let (url, _node) = start_node().await;
    let client = NodeClient::new(&url);
    let account = SolanaAccount::generate();
    let builder = MessageBuilder::new(&account).channel("TEST");

    // Subscribe first, with no history: every later message arrives live.
    let filter = MessageFilter {
        channels: vec!["TEST".into()],
        ..Default::default()
    };
    let mut live = Box::pin(client.subscribe(&filter, 0).await.unwrap());

    let mut hashes = Vec::new();
    for i in 0..5 {
        let signed = builder
            .build(PostBuilder::new("chat").content(json!({ "i": i })))
            .unwrap();
        let status = client.post_message(&signed, i % 2 == 0).await.unwrap();
        assert_eq!(
            status,
            if i % 2 == 0 {
                MessageStatus::Processed
            } else {
                MessageStatus::Pending
            }
        );
        hashes.push(signed.message.item_hash.clone());
    }
    let signed = builder
        .build(AggregateBuilder::new("profile", json!({"name": "Ada"})))
        .unwrap();
    client.post_message(&signed, true).await.unwrap();
    let signed = builder
        .build(AggregateBuilder::new("profile", json!({"age": 36})))
        .unwrap();
    client.post_message(&signed, true).await.unwrap();

    // Content too large to inline is stored, then the message sent.
    let big = builder
        .build(PostBuilder::new("blob").content(json!({ "data": "x".repeat(60_000) })))
        .unwrap();
    assert!(big.storage_content.is_some());
    client.post_message(&big, true).await.unwrap();

    for expected in hashes.iter().chain([&big.message.item_hash]) {
        let received = tokio::time::timeout(Duration::from_secs(10), live.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if received.message_type == aether_sdk::message::MessageType::Aggregate {
            continue;
        }
        assert_eq!(&received.item_hash, expected);
        received.verify().unwrap();
    }

    let got = client.message(&hashes[2]).await.unwrap();
    assert_eq!(got.status, MessageStatus::Processed);
    assert_eq!(got.message.unwrap().item_hash, hashes[2]);
    assert!(matches!(
        client.message(&"0".repeat(64)).await,
        Err(ClientError::NotFound(_))
    ));
    let waited = client
        .wait_processed(&hashes[1], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(waited.status, MessageStatus::Processed);

    let posts = MessageFilter {
        types: vec!["POST".into()],
        ..Default::default()
    };
    let page = client.messages(&posts, 1, 4).await.unwrap();
    assert_eq!((page.pagination_total, page.messages.len()), (6, 4));
    let page2 = client.messages(&posts, 2, 4).await.unwrap();
    assert_eq!(page2.messages.len(), 2);
    assert!(page2.messages.iter().all(|m| !page.messages.contains(m)));

    let aggregates = client
        .aggregates(&account.address(), &["profile"])
        .await
        .unwrap();
    assert_eq!(aggregates["profile"], json!({"name": "Ada", "age": 36}));

    // A message the node refuses comes back as Rejected.
    let mut forged = builder.build(PostBuilder::new("chat")).unwrap();
    forged.message.sender = SolanaAccount::generate().address();
    match client.post_message(&forged, true).await {
        Err(ClientError::Rejected { body }) => assert_eq!(body["details"]["field"], "sender"),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn files_upload_and_download_with_progress() {
    let (url, node) = start_node().await;
    let client = NodeClient::new(&url);
    let bytes: Vec<u8> = (0..3 * 1024 * 1024 + 7)
        .map(|i: usize| (i * 7) as u8)
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();

    for engine in [StorageEngine::Storage, StorageEngine::Ipfs] {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let hash = client
            .upload_file(file.path(), engine, move |sent, total| {
                log.lock().unwrap().push((sent, total))
            })
            .await
            .unwrap();
        let expected = match engine {
            StorageEngine::Storage => sha256_hex(&bytes),
            StorageEngine::Ipfs => cid_of_bytes(&bytes, CidVersion::V0).to_string(),
        };
        assert_eq!(hash, expected);
        let seen = seen.lock().unwrap().clone();
        assert!(seen.len() > 1, "progress was reported as it went");
        assert_eq!(
            *seen.last().unwrap(),
            (bytes.len() as u64, bytes.len() as u64)
        );
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));

        let mut out = Vec::new();
        let mut calls = 0;
        let n = client
            .download_file(&hash, &mut out, |_, _| calls += 1)
            .await
            .unwrap();
        assert_eq!(n as usize, bytes.len());
        assert_eq!(out, bytes);
        assert!(calls >= 1);
    }

    // A node that serves other bytes under a hash is caught.
    let hash = sha256_hex(&bytes);
    node.files
        .lock()
        .unwrap()
        .insert(hash.clone(), b"not the file".to_vec());
    let mut out = Vec::new();
    assert!(matches!(
        client.download_file(&hash, &mut out, |_, _| {}).await,
        Err(ClientError::Corrupt(_))
    ));
    assert!(matches!(
        client
            .download_file(&"1".repeat(64), &mut out, |_, _| {})
            .await,
        Err(ClientError::NotFound(_))
    ));
}
