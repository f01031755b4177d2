//! The one protocol between vm-host and the guest agent, over virtio-serial
//! (QEMU) or vsock (cloud-hypervisor): a stream of frames, each
//!
//! ```text
//! u32 length (big-endian, of what follows) | u8 kind | u64 request id | payload
//! ```
//!
//! The guest opens with [`Kind::Hello`] carrying [`VERSION`]; the host
//! answers with [`Kind::Config`] (a JSON [`GuestConfig`]); the guest starts
//! the program and sends [`Kind::Ready`] once it answers on its port. Each
//! HTTP request then has an id of its own, so many can be in flight:
//! the host sends `RequestHead`, `Body`… and `End`; the guest answers
//! `ResponseHead`, `Body`… and `End`, or `Error` alone. `Exited` reports the
//! program's end with its last log lines.

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

/// The protocol version this crate speaks.
pub const VERSION: u16 = 1;
/// Largest payload of one frame; bodies go in chunks of at most this.
pub const MAX_PAYLOAD: usize = 256 * 1024;
/// The size of a frame's header.
pub const HEADER_LEN: usize = 4 + 1 + 8;
/// The virtio-serial port name the host gives the agent's channel.
pub const PORT_NAME: &str = "aether.agent";

/// What a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Guest → host, first: the protocol version (u16) and the agent's.
    Hello = 1,
    /// Host → guest: the [`GuestConfig`] as JSON.
    Config = 2,
    /// Guest → host: the program answers on its port.
    Ready = 3,
    /// Host → guest: a request's method, target and headers ([`Head`]).
    RequestHead = 4,
    /// Either way: a chunk of a body.
    Body = 5,
    /// Either way: the body is complete.
    End = 6,
    /// Guest → host: a response's status and headers ([`Head`]).
    ResponseHead = 7,
    /// Guest → host: the request failed in the guest (UTF-8 reason).
    Error = 8,
    /// Guest → host: the program exited ([`Exit`] as JSON).
    Exited = 9,
    /// Host → guest: stop the program and power off.
    Shutdown = 10,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        use Kind::*;
        Some(match b {
            1 => Hello,
            2 => Config,
            3 => Ready,
            4 => RequestHead,
            5 => Body,
            6 => End,
            7 => ResponseHead,
            8 => Error,
            9 => Exited,
            10 => Shutdown,
            _ => return None,
        })
    }
}

/// One frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// What it carries.
    pub kind: Kind,
    /// The request it belongs to (0 for the connection itself).
    pub id: u64,
    /// Its bytes.
    pub payload: Vec<u8>,
}

/// A frame that cannot be read.
#[derive(Debug)]
pub enum FrameError {
    /// The stream failed or ended.
    Io(io::Error),
    /// A kind this version does not know.
    UnknownKind(u8),
    /// A length over [`MAX_PAYLOAD`] (or under the header).
    BadLength(u32),
    /// A payload that does not decode.
    BadPayload(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Io(e) => write!(f, "channel: {e}"),
            FrameError::UnknownKind(k) => write!(f, "unknown frame kind {k}"),
            FrameError::BadLength(n) => write!(f, "frame length {n} out of bounds"),
            FrameError::BadPayload(e) => write!(f, "bad frame payload: {e}"),
        }
    }
}

impl std::error::Error for FrameError {}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> Self {
        FrameError::Io(e)
    }
}

impl Frame {
    /// A frame of `kind` for request `id`.
    pub fn new(kind: Kind, id: u64, payload: Vec<u8>) -> Self {
        Frame { kind, id, payload }
    }

    /// The frame's bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        assert!(
            self.payload.len() <= MAX_PAYLOAD,
            "payload over MAX_PAYLOAD"
        );
        let mut out = Vec::with_capacity(HEADER_LEN + self.payload.len());
        out.extend_from_slice(&((1 + 8 + self.payload.len()) as u32).to_be_bytes());
        out.push(self.kind as u8);
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// Reads the kind, id and payload length from a frame's header.
    pub fn decode_header(header: &[u8; HEADER_LEN]) -> Result<(Kind, u64, usize), FrameError> {
        let len = u32::from_be_bytes(header[0..4].try_into().expect("4 bytes"));
        if !(9..=(9 + MAX_PAYLOAD as u32)).contains(&len) {
            return Err(FrameError::BadLength(len));
        }
        let kind = Kind::from_u8(header[4]).ok_or(FrameError::UnknownKind(header[4]))?;
        let id = u64::from_be_bytes(header[5..13].try_into().expect("8 bytes"));
        Ok((kind, id, len as usize - 9))
    }

    /// Reads one frame from a blocking stream.
    pub fn read_from(r: &mut impl Read) -> Result<Frame, FrameError> {
        let mut header = [0u8; HEADER_LEN];
        r.read_exact(&mut header)?;
        let (kind, id, len) = Frame::decode_header(&header)?;
        let mut payload = vec![0u8; len];
        r.read_exact(&mut payload)?;
        Ok(Frame { kind, id, payload })
    }

    /// Writes the frame to a blocking stream.
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.encode())
    }

    /// Decodes a JSON payload.
    pub fn json<T: for<'de> Deserialize<'de>>(&self) -> Result<T, FrameError> {
        serde_json::from_slice(&self.payload).map_err(|e| FrameError::BadPayload(e.to_string()))
    }
}

/// A request's or response's first line and headers. For a request,
/// `line` is "METHOD /target"; for a response, the status code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// "GET /path?query" or "200".
    pub line: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The frame payload.
    pub fn to_payload(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a head serializes")
    }
}

/// A volume the guest mounts, found by its virtio-blk serial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// The disk's serial (at most 20 bytes).
    pub serial: String,
    /// Where it is mounted.
    pub path: String,
    /// File system: "ext4" or "squashfs".
    pub fs: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// What the host tells the agent after [`Kind::Hello`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestConfig {
    /// Volumes to mount, in order.
    pub mounts: Vec<Mount>,
    /// The program, run by `/bin/sh -c` in `workdir`.
    pub entrypoint: String,
    /// Its working directory.
    pub workdir: String,
    /// The port its HTTP server listens on (on 127.0.0.1 or 0.0.0.0).
    pub port: u16,
    /// Its environment (beside `PORT`).
    pub env: Vec<(String, String)>,
    /// The guest's address and gateway, when it has a network card.
    pub network: Option<GuestNetwork>,
    /// An instance's root: a mounted volume the program runs chrooted in
    /// (the kernel file systems bound inside it, `workdir` taken in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
}

/// The guest's network, set up by the agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestNetwork {
    /// e.g. "10.0.2.15/24".
    pub address: String,
    /// e.g. "10.0.2.2".
    pub gateway: String,
}

/// The program's end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    /// Its exit code, or `None` when a signal ended it.
    pub code: Option<i32>,
    /// Its last lines of output.
    pub last_lines: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_bad_headers_are_refused() {
        let frame = Frame::new(Kind::Body, 42, b"hello".to_vec());
        let bytes = frame.encode();
        assert_eq!(bytes.len(), HEADER_LEN + 5);
        let back = Frame::read_from(&mut bytes.as_slice()).unwrap();
        assert_eq!(back, frame);

        let mut header: [u8; HEADER_LEN] = bytes[..HEADER_LEN].try_into().unwrap();
        header[4] = 99;
        assert!(matches!(
            Frame::decode_header(&header),
            Err(FrameError::UnknownKind(99))
        ));
        let mut huge = header;
        huge[4] = Kind::Body as u8;
        huge[0..4].copy_from_slice(&(u32::MAX).to_be_bytes());
        assert!(matches!(
            Frame::decode_header(&huge),
            Err(FrameError::BadLength(_))
        ));
        // A stream that ends mid-frame is an error, not a short frame.
        assert!(matches!(
            Frame::read_from(&mut &bytes[..bytes.len() - 1]),
            Err(FrameError::Io(_))
        ));
    }

    #[test]
    fn heads_and_configs_are_json() {
        let head = Head {
            line: "POST /echo?x=1".into(),
            headers: vec![("content-length".into(), "3".into())],
        };
        let frame = Frame::new(Kind::RequestHead, 1, head.to_payload());
        assert_eq!(frame.json::<Head>().unwrap(), head);
        assert!(Frame::new(Kind::Config, 0, b"{".to_vec())
            .json::<GuestConfig>()
            .is_err());
    }
}
