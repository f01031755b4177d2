//! One request, relayed to the program over HTTP/1.1 on loopback: the
//! head and body from the host are written to a fresh connection (with
//! `Connection: close`), and the answer is read back, de-chunked, and sent
//! to the host as `ResponseHead`, `Body`… `End`. A failure before the head
//! is an `Error` frame, which the host turns into a 502.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread::JoinHandle;

use aether_vm_protocol::{Frame, Head, Kind, MAX_PAYLOAD};

use crate::{send, Outbox};

/// Headers that belong to one hop, not to the message.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

/// Relays request `id` on a thread of its own.
pub fn spawn(id: u64, head: Head, body: mpsc::Receiver<Vec<u8>>, port: u16, outbox: Outbox) {
    std::thread::spawn(move || {
        if let Err(e) = relay(id, &head, body, port, &outbox) {
            send(&outbox, Frame::new(Kind::Error, id, e.into_bytes()));
        }
    });
}

// The errors here stay strings: they go to the host as the payload of an
// `Error` frame, whose text the host shows in its 502.
fn relay(
    id: u64,
    head: &Head,
    body: mpsc::Receiver<Vec<u8>>,
    port: u16,
    outbox: &Outbox,
) -> Result<(), String> {
    let started = std::time::Instant::now();
    let (conn, written) = send_request(head, body, port)?;
    let mut reader = BufReader::with_capacity(64 * 1024, conn);
    let status = read_status(&mut reader, written)?;
    let Answer {
        mut headers,
        chunked,
        length,
    } = read_headers(&mut reader)?;
    // The guest's share of the answer's time, so the host's can be told apart.
    headers.push((
        "server-timing".into(),
        format!(
            "aether-guest;dur={:.3}",
            started.elapsed().as_secs_f64() * 1000.0
        ),
    ));
    send(
        outbox,
        Frame::new(
            Kind::ResponseHead,
            id,
            Head {
                line: status,
                headers,
            }
            .to_payload(),
        ),
    );
    let forward = |chunk: &[u8]| {
        for part in chunk.chunks(MAX_PAYLOAD) {
            send(outbox, Frame::new(Kind::Body, id, part.to_vec()));
        }
    };
    let result = if chunked {
        read_chunked(&mut reader, forward)
    } else {
        read_plain(&mut reader, length, forward)
    };
    match result {
        Ok(()) => send(outbox, Frame::new(Kind::End, id, Vec::new())),
        Err(e) => send(outbox, Frame::new(Kind::Error, id, e.into_bytes())),
    }
    Ok(())
}

/// The thread writing the request to the program, and how that went.
type Writing = JoinHandle<Result<(), String>>;

/// Connects to the program and writes the request to it: its head, with
/// `Connection: close`, then the body as the host sends it. The writing
/// goes on in the thread returned.
fn send_request(
    head: &Head,
    body: mpsc::Receiver<Vec<u8>>,
    port: u16,
) -> Result<(TcpStream, Writing), String> {
    let conn = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("the program does not answer on port {port}: {e}"))?;
    let _ = conn.set_nodelay(true);
    let mut request = format!("{} HTTP/1.1\r\n", head.line);
    for (name, value) in &head.headers {
        if !HOP_BY_HOP.contains(&name.to_ascii_lowercase().as_str()) {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    request.push_str("Connection: close\r\n\r\n");
    // The request is written on a thread of its own while the answer is
    // read here: a program that answers as it reads (an echo) would
    // otherwise fill both directions' buffers and stall with us.
    let mut writer = conn
        .try_clone()
        .map_err(|e| format!("the connection to the program: {e}"))?;
    let written = std::thread::spawn(move || -> Result<(), String> {
        let to_program = |e: std::io::Error| format!("writing to the program: {e}");
        writer.write_all(request.as_bytes()).map_err(to_program)?;
        // The body until the host's End (the sender is dropped).
        for chunk in body {
            writer.write_all(&chunk).map_err(to_program)?;
        }
        Ok(())
    });
    Ok((conn, written))
}

/// The status code of the program's answer.
fn read_status(reader: &mut impl BufRead, written: Writing) -> Result<String, String> {
    let mut status_line = String::new();
    let read = reader.read_line(&mut status_line);
    if status_line.is_empty() {
        // No answer at all: say why the request failed, if it did.
        if let Ok(Err(e)) = written.join() {
            return Err(e);
        }
    }
    read.map_err(|e| format!("reading the program's answer: {e}"))?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .filter(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("the program answered {:?}, not HTTP", status_line.trim()))?
        .to_string();
    Ok(status)
}

/// The headers of the program's answer, and how its body comes.
struct Answer {
    /// Those passed on to the host (none of one hop).
    headers: Vec<(String, String)>,
    /// `Transfer-Encoding: chunked`.
    chunked: bool,
    /// `Content-Length`, when given and a number.
    length: Option<u64>,
}

/// Reads the answer's headers, up to the blank line.
fn read_headers(reader: &mut impl BufRead) -> Result<Answer, String> {
    let mut headers = Vec::new();
    let (mut chunked, mut length) = (false, None::<u64>);
    loop {
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .map_err(|e| format!("reading the program's headers: {e}"))?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("the program sent a bad header line {line:?}"));
        };
        let (name, value) = (name.trim(), value.trim());
        let lower = name.to_ascii_lowercase();
        if lower == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
        if lower == "content-length" {
            length = value.parse().ok();
            continue;
        }
        if !HOP_BY_HOP.contains(&lower.as_str()) {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    Ok(Answer {
        headers,
        chunked,
        length,
    })
}

fn read_plain(
    reader: &mut impl Read,
    length: Option<u64>,
    mut forward: impl FnMut(&[u8]),
) -> Result<(), String> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = length;
    loop {
        let want = match left {
            Some(0) => return Ok(()),
            Some(n) => buf.len().min(n as usize),
            None => buf.len(),
        };
        let n = reader
            .read(&mut buf[..want])
            .map_err(|e| format!("reading the program's body: {e}"))?;
        if n == 0 {
            return match left {
                Some(n) if n > 0 => Err(format!("the program's body ended {n} bytes short")),
                _ => Ok(()),
            };
        }
        forward(&buf[..n]);
        if let Some(l) = left.as_mut() {
            *l -= n as u64;
        }
    }
}

fn read_chunked(reader: &mut impl BufRead, mut forward: impl FnMut(&[u8])) -> Result<(), String> {
    let bad = |what: &str| format!("the program's chunked body is malformed: {what}");
    loop {
        let mut size_line = String::new();
        reader
            .read_line(&mut size_line)
            .map_err(|e| bad(&e.to_string()))?;
        let size_text = size_line.trim().split(';').next().unwrap_or("");
        let size = u64::from_str_radix(size_text, 16).map_err(|_| bad(size_text))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut line = String::new();
                let n = reader
                    .read_line(&mut line)
                    .map_err(|e| bad(&e.to_string()))?;
                if n == 0 || line.trim().is_empty() {
                    return Ok(());
                }
            }
        }
        read_plain(&mut reader.by_ref().take(size), Some(size), &mut forward)?;
        let mut crlf = String::new();
        reader
            .read_line(&mut crlf)
            .map_err(|e| bad(&e.to_string()))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_joined_and_bad_ones_refused() {
        let mut out = Vec::new();
        let body = b"4\r\nWiki\r\n6;ext=1\r\npedia \r\n0\r\nX-Trailer: 1\r\n\r\n";
        read_chunked(&mut &body[..], |c| out.extend_from_slice(c)).unwrap();
        assert_eq!(out, b"Wikipedia ");
        assert!(read_chunked(&mut &b"zz\r\n"[..], |_| {}).is_err());
        assert!(read_plain(&mut &b"abc"[..], Some(5), |_| {}).is_err());
    }
}
