//! Malformed envelopes and content are refused with the field named.

use aether_sdk::message::sign::{EthereumAccount, Signer, SolanaAccount};
use aether_sdk::message::{
    verify_batch, AggregateBuilder, ItemType, Message, MessageBuilder, MessageError, PostBuilder,
    ProgramBuilder, MAX_INLINE_SIZE,
};
use serde_json::{json, Value};

const CODE: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn signed(signer: &dyn Signer) -> Message {
    MessageBuilder::new(signer)
        .channel("TEST")
        .build(PostBuilder::new("chat").content(json!({"body": "hi"})))
        .unwrap()
        .message
}

fn wire(message: &Message) -> Value {
    serde_json::to_value(message).unwrap()
}

fn refused(value: &Value) -> MessageError {
    match Message::from_value(value) {
        Err(e) => e,
        Ok(m) => m.verify().expect_err("should be refused"),
    }
}

#[test]
fn a_missing_field_is_named() {
    let good = wire(&signed(&SolanaAccount::generate()));
    for field in [
        "chain",
        "sender",
        "type",
        "time",
        "item_type",
        "item_hash",
        "signature",
        "item_content",
    ] {
        let mut bad = good.clone();
        bad.as_object_mut().unwrap().remove(field);
        let err = refused(&bad);
        assert_eq!(err.field(), field, "{err}");
        assert!(matches!(err, MessageError::Missing { .. }), "{err}");
    }
}

#[test]
fn wrong_values_are_named() {
    let account = SolanaAccount::generate();
    let good = wire(&signed(&account));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("chain", json!("XYZ"), "chain"),
        ("chain", json!("sol"), "chain"),
        ("type", json!("post"), "type"),
        ("item_type", json!("disk"), "item_type"),
        ("time", json!("yesterday"), "time"),
        ("time", json!(-5), "time"),
        ("sender", json!(7), "sender"),
        ("channel", json!("x".repeat(129)), "channel"),
        ("item_hash", json!(CODE.to_uppercase()), "item_hash"),
        ("item_hash", json!("abc"), "item_hash"),
        ("item_hash", json!(CODE), "item_hash"),
        ("item_content", json!("{not json"), "content"),
        ("item_content", json!("[1,2]"), "content"),
        ("extra", json!(1), "extra"),
    ];
    for (field, value, named) in cases {
        let mut bad = good.clone();
        bad[field] = value.clone();
        let err = refused(&bad);
        assert_eq!(err.field(), named, "{field} = {value}: {err}");
    }
    assert!(Message::from_json("[]").is_err());
    assert_eq!(Message::from_json("{").unwrap_err().field(), "message");
}

#[test]
fn a_wrong_hash_is_refused() {
    let mut message = signed(&SolanaAccount::generate());
    message.item_content = Some(message.item_content.unwrap().replace("hi", "ho"));
    let err = message.verify().unwrap_err();
    assert!(matches!(err, MessageError::HashMismatch { .. }), "{err}");
    assert_eq!(err.field(), "item_hash");
}

#[test]
fn the_wrong_chain_is_refused() {
    // A Solana-signed message claiming to be from Ethereum.
    let mut message = signed(&SolanaAccount::generate());
    message.chain = aether_sdk::message::Chain::Eth;
    assert_eq!(message.verify().unwrap_err().field(), "sender");
    // A chain whose signatures this SDK does not verify.
    message.chain = aether_sdk::message::Chain::Tezos;
    let err = message.verify().unwrap_err();
    assert_eq!(err.field(), "chain", "{err}");
}

#[test]
fn wrong_signature_encodings_are_refused() {
    let sol = SolanaAccount::generate();
    let message = signed(&sol);
    let real: Value = serde_json::from_str(message.signature.as_deref().unwrap()).unwrap();
    let other = SolanaAccount::generate();
    let bad_signatures = [
        "not json".to_string(),
        json!({"publicKey": sol.address()}).to_string(),
        json!({"publicKey": sol.address(), "signature": "0OIl"}).to_string(),
        json!({"publicKey": sol.address(), "signature": bs58::encode([1u8; 63]).into_string()})
            .to_string(),
        json!({"publicKey": other.address(), "signature": real["signature"]}).to_string(),
        json!({"publicKey": sol.address(), "signature": bs58::encode([1u8; 64]).into_string()})
            .to_string(),
    ];
    for signature in bad_signatures {
        let mut bad = message.clone();
        bad.signature = Some(signature.clone());
        let err = bad.verify().unwrap_err();
        assert!(
            matches!(err.field(), "signature" | "sender"),
            "{signature}: {err}"
        );
    }

    let eth = EthereumAccount::generate();
    let message = signed(&eth);
    let sig = message.signature.clone().unwrap();
    for signature in [
        sig[2..].to_string() + "zz",            // not hex
        sig[..sig.len() - 2].to_string(),       // 64 bytes
        format!("{}1f", &sig[..sig.len() - 2]), // v = 31
        format!("0x{}", "00".repeat(65)),       // r = s = 0
    ] {
        let mut bad = message.clone();
        bad.signature = Some(signature.clone());
        assert_eq!(
            bad.verify().unwrap_err().field(),
            "signature",
            "{signature}"
        );
    }
    // A lower-case sender is the same address; a broken checksum is not.
    let mut lower = message.clone();
    lower.sender = lower.sender.to_lowercase();
    assert_eq!(
        lower.check_signature().unwrap_err().field(),
        "signature",
        "the buffer changed"
    );
    let mut broken = message.clone();
    let flipped: String = broken
        .sender
        .chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c
            }
        })
        .collect();
    if flipped != broken.sender && flipped != broken.sender.to_lowercase() {
        broken.sender = flipped;
        assert_eq!(broken.verify().unwrap_err().field(), "sender");
    }
}

#[test]
fn oversize_content_goes_to_storage_and_is_refused_inline() {
    let account = SolanaAccount::generate();
    let big = "x".repeat(MAX_INLINE_SIZE);
    let signed = MessageBuilder::new(&account)
        .build(PostBuilder::new("blob").content(json!({ "data": big })))
        .unwrap();
    assert_eq!(signed.message.item_type, ItemType::Storage);
    assert!(signed.message.item_content.is_none());
    let stored = signed.storage_content.clone().unwrap();
    signed.message.verify().unwrap();
    assert_eq!(
        signed.message.content_from(stored.as_bytes()).unwrap(),
        signed.content
    );
    assert_eq!(
        signed.message.content_from(b"{}").unwrap_err().field(),
        "item_hash"
    );

    // The same content sent inline is refused as too large.
    let mut inline = signed.message.clone();
    inline.item_type = ItemType::Inline;
    inline.item_content = Some(stored);
    let err = inline.verify().unwrap_err();
    assert!(matches!(err, MessageError::TooLarge { .. }), "{err}");
    assert_eq!(err.field(), "item_content");
}

#[test]
fn builders_name_the_field_at_fault() {
    let account = SolanaAccount::generate();
    let builder = MessageBuilder::new(&account);
    let cases = [
        (
            builder
                .build(PostBuilder::new("amend").content(json!({})))
                .unwrap_err(),
            "content.ref",
        ),
        (
            builder
                .build(AggregateBuilder::new("k", json!([1])))
                .unwrap_err(),
            "content.content",
        ),
        (
            builder
                .build(ProgramBuilder::new(CODE, "main:app", CODE).vcpus(0))
                .unwrap_err(),
            "content.resources.vcpus",
        ),
        (
            builder
                .build(ProgramBuilder::new("nope", "main:app", CODE))
                .unwrap_err(),
            "content.code.ref",
        ),
        (
            builder
                .build(PostBuilder::new("t").content(json!({"tags": [""]})))
                .unwrap_err(),
            "content.content.tags",
        ),
        (
            MessageBuilder::new(&account)
                .time(1e12)
                .build(PostBuilder::new("t"))
                .unwrap_err(),
            "content.time",
        ),
    ];
    for (err, field) in cases {
        assert_eq!(err.field(), field, "{err}");
    }
}

#[test]
fn batches_verify_and_point_at_the_bad_ones() {
    let accounts: Vec<SolanaAccount> = (0..20).map(|_| SolanaAccount::generate()).collect();
    let mut messages: Vec<Message> = accounts.iter().map(|a| signed(a)).collect();
    messages.push(signed(&EthereumAccount::generate()));
    assert!(verify_batch(&messages).iter().all(Result::is_ok));
    messages[3].signature = messages[4].signature.clone();
    messages[7].time += 1.0; // not signed over: still fine
    messages[9].item_content = Some("{}".into());
    let results = verify_batch(&messages);
    for (i, result) in results.iter().enumerate() {
        match i {
            3 => assert!(result.as_ref().unwrap_err().field() == "sender"),
            9 => assert!(result.is_err()),
            _ => assert!(result.is_ok(), "{i}: {result:?}"),
        }
    }
    // A forged signature inside a valid-looking batch is found.
    let mut messages: Vec<Message> = accounts.iter().map(|a| signed(a)).collect();
    let victim = messages[5].clone();
    let mut forged = MessageBuilder::new(&accounts[5])
        .build(PostBuilder::new("chat").content(json!({"body": "forged"})))
        .unwrap()
        .message;
    forged.signature = victim.signature.clone();
    messages[5] = forged;
    let results = verify_batch(&messages);
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
    assert_eq!(results[5].as_ref().unwrap_err().field(), "signature");
}
