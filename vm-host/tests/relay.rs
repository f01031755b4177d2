//! `aether-relay`, as QEMU runs it for a granted service: the guest's
//! bytes on stdin, the answer on stdout, and an answer that comes after
//! the guest stopped sending still comes back.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};

#[test]
fn the_answer_comes_back_after_the_guest_half_closes() {
    // A service that reads to the end, then answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let service = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut asked = Vec::new();
        conn.read_to_end(&mut asked).unwrap();
        conn.write_all(b"you said: ").unwrap();
        conn.write_all(&asked).unwrap();
    });
    let mut relay = Command::new(env!("CARGO_BIN_EXE_aether-relay"))
        .args(["127.0.0.1", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    relay.stdin.take().unwrap().write_all(b"hello").unwrap(); // dropped: EOF
    let mut answer = String::new();
    relay
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut answer)
        .unwrap();
    assert_eq!(answer, "you said: hello");
    assert!(relay.wait().unwrap().success());
    service.join().unwrap();
}

#[test]
fn bad_arguments_and_a_closed_port_are_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_aether-relay"))
        .arg("127.0.0.1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(env!("CARGO_BIN_EXE_aether-relay"))
        .args(["127.0.0.1", &closed.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&closed.to_string()));
}
