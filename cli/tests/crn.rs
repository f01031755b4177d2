//! `aether crn` as a node runner meets it: the doctor names what works,
//! and missing pieces are named with what to do.

use std::process::Command;

fn aether(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_aether"))
        .args(args)
        .env("HOME", std::env::temp_dir().join("aether-crn-test-home"))
        .output()
        .expect("aether runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn doctor_names_the_backends_and_why() {
    let (ok, text) = aether(&["crn", "doctor"]);
    assert!(ok, "{text}");
    assert!(text.contains("qemu") && text.contains("works"), "{text}");
    assert!(text.contains("cloud-hypervisor"), "{text}");
}

#[test]
fn missing_pieces_are_named() {
    let (ok, text) = aether(&[
        "crn",
        "build-runtime",
        "--agent",
        "/nonexistent/aether-guest",
    ]);
    assert!(!ok);
    assert!(
        text.contains("no guest agent") && text.contains("crt-static"),
        "{text}"
    );
    let (ok, text) = aether(&["crn", "run", "--port", "0"]);
    assert!(!ok);
    assert!(text.contains("build-runtime"), "{text}");
    let (ok, text) = aether(&["crn", "run", "--backend", "vmware"]);
    assert!(!ok);
    assert!(text.contains("unknown backend"), "{text}");
}
