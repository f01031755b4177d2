//! Cross-checks with the Python reference implementation: `aleph-message`
//! (the models) and `aleph-sdk-python` (accounts and signing), run from the
//! virtualenv `scripts/test` prepares (`AETHER_PYTHON` names another).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use aether_sdk::message::sign::{EthereumAccount, Signer, SolanaAccount};
use aether_sdk::message::{
    AggregateBuilder, ForgetBuilder, InstanceBuilder, Message, MessageBuilder, MessageError,
    MessageType, PostBuilder, ProgramBuilder, StoreBuilder,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const CODE: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const RUNTIME: &str = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";

fn python() -> PathBuf {
    let path = std::env::var_os("AETHER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/aether/pyenv/bin/python")
        });
    assert!(
        path.exists(),
        "{} is missing: run ./scripts/test (it makes the virtualenv with aleph-message and \
         aleph-sdk-python), or set AETHER_PYTHON to a python that has them",
        path.display()
    );
    path
}

fn run_python(command: &str, stdin: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/aleph_compat.py");
    let mut child = Command::new(python())
        .args([script, command])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The same keys the Python script uses: seed 0..32 and 0x01 × 32.
fn sol() -> SolanaAccount {
    SolanaAccount::from_bytes(&(0u8..32).collect::<Vec<_>>()).unwrap()
}
fn eth() -> EthereumAccount {
    EthereumAccount::from_hex(&"01".repeat(32)).unwrap()
}

#[test]
fn messages_signed_by_python_verify_in_rust() {
    let messages = run_python("sign", "");
    let messages = messages.as_array().unwrap();
    assert_eq!(messages.len(), 14, "seven messages per chain");
    let mut types = Vec::new();
    for raw in messages {
        let message = Message::from_value(raw).unwrap();
        message.verify().unwrap_or_else(|e| panic!("{e} in {raw}"));
        // Typed content written back is byte for byte what Python wrote,
        // so it hashes the same.
        let content = message.content().unwrap();
        assert_eq!(
            &content.to_item_content(),
            message.item_content.as_ref().unwrap()
        );
        types.push(message.message_type);

        // Same key, same address, same (deterministic) signature.
        let buffer = message.verification_buffer();
        let signature = match message.sender.starts_with("0x") {
            true => (eth().address(), eth().sign_buffer(&buffer)),
            false => (sol().address(), sol().sign_buffer(&buffer)),
        };
        assert_eq!(signature.0, message.sender);
        assert_eq!(Some(signature.1), message.signature);

        // A forgery: other content under the original signature.
        // Every content has a `time`; its first digit is rewritten, so the
        // forgery never depends on what the clock read when Python signed.
        let mut forged = message.clone();
        let original = forged.item_content.as_ref().unwrap();
        let changed = forge_time(original);
        assert_ne!(&changed, original, "the forgery must change the content");
        forged.item_hash = hex::encode(Sha256::digest(changed.as_bytes()));
        forged.item_content = Some(changed);
        forged.check_hash().unwrap();
        let err = forged.verify().unwrap_err();
        assert_eq!(err.field(), "signature", "{err}");
        assert!(matches!(err, MessageError::Signature(_)));

        // Content changed but the hash kept: the hash check names item_hash.
        let mut tampered = message.clone();
        tampered.item_content = Some(forged.item_content.clone().unwrap());
        assert!(matches!(
            tampered.verify(),
            Err(MessageError::HashMismatch { .. })
        ));
    }
    for t in [
        MessageType::Post,
        MessageType::Aggregate,
        MessageType::Store,
        MessageType::Program,
        MessageType::Instance,
        MessageType::Forget,
    ] {
        assert!(types.contains(&t), "no {t} from Python");
    }
}

/// The content with the first digit of its `"time":` value changed (1 -> 2,
/// any other digit -> 1): other content, still valid JSON.
fn forge_time(content: &str) -> String {
    let at = content.find("\"time\":").expect("content has a time") + "\"time\":".len();
    let digit = content[at..].chars().next().expect("a time value");
    assert!(digit.is_ascii_digit(), "time is a number in {content}");
    let replacement = if digit == '1' { '2' } else { '1' };
    format!("{}{}{}", &content[..at], replacement, &content[at + 1..])
}

#[test]
fn forgery_of_time_always_changes_content() {
    for time in ["1795646074.3", "1796370000", "2112000000.5", "9"] {
        let content = format!("{{\"address\":\"x\",\"time\":{time},\"type\":\"t\"}}");
        let forged = forge_time(&content);
        assert_ne!(forged, content);
        let value: Value = serde_json::from_str(&forged).unwrap();
        assert_ne!(
            value["time"],
            serde_json::from_str::<Value>(&content).unwrap()["time"]
        );
    }
}

fn rust_messages(signer: &dyn Signer) -> Vec<Message> {
    let builder = MessageBuilder::new(signer).channel("TEST");
    let volume: aether_sdk::message::MachineVolume =
        serde_json::from_value(json!({"ref": CODE, "mount": "/data"})).unwrap();
    let scratch: aether_sdk::message::MachineVolume =
        serde_json::from_value(json!({"size_mib": 10, "mount": "/scratch"})).unwrap();
    let built = [
        builder.build(PostBuilder::new("chat").content(json!({
            "body": "héllo 😀 \u{7f} wörld", "n": 1.5, "tiny": 0.00001, "big": 1e16, "tags": ["x"]
        }))),
        builder.build(
            PostBuilder::new("amend")
                .content(json!({"body": "fixed"}))
                .reference(CODE),
        ),
        builder.build(AggregateBuilder::new(
            "profile",
            json!({"name": "Ada", "nested": {"a": [1, 2]}}),
        )),
        builder.build(
            StoreBuilder::new(CODE)
                .unwrap()
                .size(12)
                .content_type("text/plain")
                .tags(vec!["web".into()]),
        ),
        builder.build(StoreBuilder::new(RUNTIME).unwrap()),
        builder.build(
            ProgramBuilder::new(CODE, "main:app", RUNTIME)
                .memory_mib(512)
                .variable("Z", "1")
                .variable("A", "2")
                .volume(volume)
                .volume(scratch)
                .persistent(false),
        ),
        builder.build(InstanceBuilder::new(CODE, 20_000).authorized_key("ssh-ed25519 AAAA test")),
        builder.build(ForgetBuilder::new(vec![CODE.into()]).reason("gone")),
    ];
    built.into_iter().map(|b| b.unwrap().message).collect()
}

#[test]
fn messages_signed_in_rust_validate_in_python() {
    let mut messages = rust_messages(&sol());
    messages.extend(rust_messages(&eth()));
    let honest = messages.len();
    // Two forgeries Python must refuse: new content under an old signature,
    // and a signature moved to another sender's message.
    let mut forged = messages[0].clone();
    let content = forged.item_content.clone().unwrap().replace("chat", "spam");
    forged.item_hash = hex::encode(Sha256::digest(content.as_bytes()));
    forged.item_content = Some(content);
    messages.push(forged);
    let mut moved = messages[honest / 2].clone();
    moved.signature = messages[honest / 2 + 1].signature.clone();
    messages.push(moved);

    let verdicts = run_python("validate", &serde_json::to_string(&messages).unwrap());
    let verdicts = verdicts.as_array().unwrap();
    assert_eq!(verdicts.len(), messages.len());
    for (i, verdict) in verdicts.iter().enumerate().take(honest) {
        assert_eq!(verdict, "ok", "{} message {i}", messages[i].message_type);
    }
    for verdict in &verdicts[honest..] {
        assert!(
            verdict.as_str().unwrap().starts_with("refused"),
            "{verdict}"
        );
    }
    // And Rust refuses the same two.
    for message in &messages[honest..] {
        assert_eq!(message.verify().unwrap_err().field(), "signature");
    }
}
