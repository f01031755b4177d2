//! The host's end of the agent protocol (see `aether-vm-protocol`): says
//! which program to run, waits until it is ready, and multiplexes HTTP
//! requests over the one channel by request id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aether_vm_protocol::{
    Exit, Frame, FrameError, GuestConfig, Head, Kind, HEADER_LEN, MAX_PAYLOAD, VERSION,
};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, watch};

/// Where the link stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Waiting for the program to answer on its port.
    Starting,
    /// Serving.
    Ready,
    /// The program exited.
    Exited(Exit),
    /// The channel closed (the VM stopped or crashed), and why.
    Closed(String),
}

impl LinkState {
    /// Why this link serves no more, if it does not.
    pub fn failure(&self) -> Option<String> {
        match self {
            LinkState::Starting | LinkState::Ready => None,
            LinkState::Exited(exit) => Some(format!(
                "the program exited ({}); its last lines: {}",
                exit.code
                    .map_or("killed by a signal".into(), |c| format!("code {c}")),
                exit.last_lines.join(" | ")
            )),
            LinkState::Closed(why) => Some(format!("the VM stopped: {why}")),
        }
    }
}

/// Why a request or the link failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The agent speaks another protocol version.
    #[error("the guest agent speaks protocol {0}, this host {VERSION}")]
    Version(u16),
    /// The link is down.
    #[error("{0}")]
    Down(String),
    /// The program did not become ready in time.
    #[error("the program did not answer on its port within {0:?}")]
    NotReady(Duration),
    /// The guest could not relay the request.
    #[error("{0}")]
    Relay(String),
}

type Pending = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Frame>>>>;

/// A connected agent.
pub struct AgentLink {
    outbox: mpsc::UnboundedSender<Frame>,
    pending: Pending,
    next_id: AtomicU64,
    state: watch::Receiver<LinkState>,
}

/// A response's head, and its body as it arrives.
pub struct Response {
    /// Status and headers.
    pub head: Head,
    /// Body chunks; an `Err` ends the body early.
    pub body: mpsc::UnboundedReceiver<Result<Bytes, String>>,
}

/// Why a frame from the agent could not be read.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    /// The channel failed or ended.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The header does not decode.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

async fn read_frame(read: &mut (impl AsyncReadExt + Unpin)) -> Result<Frame, ReadError> {
    let mut header = [0u8; HEADER_LEN];
    read.read_exact(&mut header).await?;
    let (kind, id, len) = Frame::decode_header(&header)?;
    let mut payload = vec![0u8; len];
    read.read_exact(&mut payload).await?;
    Ok(Frame { kind, id, payload })
}

impl AgentLink {
    /// Greets the agent on `stream`, sends `config`, and waits up to
    /// `ready_within` for the program to answer on its port.
    pub async fn start(
        stream: UnixStream,
        config: &GuestConfig,
        ready_within: Duration,
    ) -> Result<AgentLink, AgentError> {
        let (mut read, write) = stream.into_split();
        greet(&mut read, ready_within).await?;
        let outbox = spawn_writer(write);
        let _ = outbox.send(Frame::new(
            Kind::Config,
            0,
            serde_json::to_vec(config).expect("a config serializes"),
        ));
        let pending: Pending = Arc::default();
        let mut state = spawn_reader(read, pending.clone());
        wait_ready(&mut state, ready_within).await?;
        Ok(AgentLink {
            outbox,
            pending,
            next_id: AtomicU64::new(1),
            state,
        })
    }

    /// Where the link stands now.
    pub fn state(&self) -> LinkState {
        self.state.borrow().clone()
    }

    /// Resolves when the link stops serving.
    pub async fn failed(&self) -> String {
        let mut state = self.state.clone();
        loop {
            if let Some(why) = state.borrow_and_update().failure() {
                return why;
            }
            if state.changed().await.is_err() {
                return "the agent's link closed".into();
            }
        }
    }

    /// Asks the agent to stop the program and power off.
    pub fn shutdown(&self) {
        let _ = self.outbox.send(Frame::new(Kind::Shutdown, 0, Vec::new()));
    }

    /// Sends one request and returns its response head once it comes.
    pub async fn request(&self, head: &Head, body: Bytes) -> Result<Response, AgentError> {
        if let Some(why) = self.state().failure() {
            return Err(AgentError::Down(why));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, mut frames) = mpsc::unbounded_channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        let send = |frame| {
            self.outbox
                .send(frame)
                .map_err(|_| AgentError::Down("the agent's link closed".into()))
        };
        send(Frame::new(Kind::RequestHead, id, head.to_payload()))?;
        for chunk in body.chunks(MAX_PAYLOAD) {
            send(Frame::new(Kind::Body, id, chunk.to_vec()))?;
        }
        send(Frame::new(Kind::End, id, Vec::new()))?;

        let first = tokio::select! {
            frame = frames.recv() => frame,
            why = self.failed() => return Err(AgentError::Down(why)),
        };
        let first = match first {
            Some(frame) => frame,
            None => return Err(AgentError::Down(self.failed().await)),
        };
        let head = match first.kind {
            Kind::ResponseHead => first
                .json::<Head>()
                .map_err(|e| AgentError::Relay(e.to_string()))?,
            Kind::Error => {
                return Err(AgentError::Relay(
                    String::from_utf8_lossy(&first.payload).into_owned(),
                ))
            }
            other => return Err(AgentError::Relay(format!("unexpected {other:?}"))),
        };
        let (body_tx, body) = mpsc::unbounded_channel();
        let mut state = self.state.clone();
        tokio::spawn(async move {
            loop {
                let frame = tokio::select! {
                    frame = frames.recv() => frame,
                    _ = state.changed() => {
                        match state.borrow().failure() {
                            Some(why) => { let _ = body_tx.send(Err(why)); return; }
                            None => continue,
                        }
                    }
                };
                match frame {
                    Some(f) if f.kind == Kind::Body => {
                        let _ = body_tx.send(Ok(Bytes::from(f.payload)));
                    }
                    Some(f) if f.kind == Kind::End => return,
                    Some(f) => {
                        let _ = body_tx.send(Err(String::from_utf8_lossy(&f.payload).into_owned()));
                        return;
                    }
                    None => {
                        let _ = body_tx.send(Err("the agent's link closed".into()));
                        return;
                    }
                }
            }
        });
        Ok(Response { head, body })
    }
}

/// Reads the agent's hello, within `ready_within`, and checks that it
/// speaks this protocol version.
async fn greet(read: &mut OwnedReadHalf, ready_within: Duration) -> Result<(), AgentError> {
    let hello = tokio::time::timeout(ready_within, read_frame(read))
        .await
        .map_err(|_| AgentError::NotReady(ready_within))?
        .map_err(|e| AgentError::Down(format!("no hello from the agent: {e}")))?;
    if hello.kind != Kind::Hello || hello.payload.len() < 2 {
        return Err(AgentError::Down(format!(
            "the agent opened with {:?}",
            hello.kind
        )));
    }
    let version = u16::from_be_bytes([hello.payload[0], hello.payload[1]]);
    if version != VERSION {
        return Err(AgentError::Version(version));
    }
    Ok(())
}

/// The task that writes frames to the agent, and its inbox.
fn spawn_writer(mut write: OwnedWriteHalf) -> mpsc::UnboundedSender<Frame> {
    let (outbox, mut outgoing) = mpsc::unbounded_channel::<Frame>();
    tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            tracing::trace!(kind = ?frame.kind, id = frame.id, len = frame.payload.len(), "to the agent");
            if write.write_all(&frame.encode()).await.is_err() {
                return;
            }
        }
    });
    outbox
}

/// The task that reads frames from the agent: the link's state, and each
/// request's frames to whoever waits for them in `pending`.
fn spawn_reader(mut read: OwnedReadHalf, pending: Pending) -> watch::Receiver<LinkState> {
    let (state_tx, state) = watch::channel(LinkState::Starting);
    tokio::spawn(async move {
        let why = loop {
            let frame = match read_frame(&mut read).await {
                Ok(frame) => frame,
                Err(e) => break e.to_string(),
            };
            tracing::trace!(kind = ?frame.kind, id = frame.id, len = frame.payload.len(), "from the agent");
            dispatch(frame, &state_tx, &pending);
        };
        if matches!(*state_tx.borrow(), LinkState::Starting | LinkState::Ready) {
            let _ = state_tx.send(LinkState::Closed(why));
        }
        // Whoever waits hears that the link is gone.
        pending.lock().unwrap_or_else(|p| p.into_inner()).clear();
    });
    state
}

/// One frame from the agent: a change of the link's state, or part of an
/// answer.
fn dispatch(frame: Frame, state_tx: &watch::Sender<LinkState>, pending: &Pending) {
    match frame.kind {
        Kind::Ready => {
            let _ = state_tx.send(LinkState::Ready);
        }
        Kind::Exited => {
            let exit = frame.json::<Exit>().unwrap_or(Exit {
                code: None,
                last_lines: Vec::new(),
            });
            let _ = state_tx.send(LinkState::Exited(exit));
        }
        Kind::ResponseHead | Kind::Body | Kind::End | Kind::Error => {
            let last = matches!(frame.kind, Kind::End | Kind::Error);
            let mut map = pending.lock().unwrap_or_else(|p| p.into_inner());
            let sender = if last {
                map.remove(&frame.id)
            } else {
                map.get(&frame.id).cloned()
            };
            if let Some(sender) = sender {
                let _ = sender.send(frame);
            }
        }
        other => tracing::debug!(?other, "ignoring a frame from the agent"),
    }
}

/// Waits up to `ready_within` for the program to answer on its port.
async fn wait_ready(
    state: &mut watch::Receiver<LinkState>,
    ready_within: Duration,
) -> Result<(), AgentError> {
    let ready = tokio::time::timeout(ready_within, async {
        loop {
            let now = state.borrow_and_update().clone();
            match now {
                LinkState::Ready => return Ok(()),
                LinkState::Starting => {}
                failed => return Err(failed.failure().unwrap_or_default()),
            }
            if state.changed().await.is_err() {
                return Err("the agent's link closed".to_string());
            }
        }
    })
    .await;
    match ready {
        Ok(Ok(())) => Ok(()),
        Ok(Err(why)) => Err(AgentError::Down(why)),
        Err(_) => Err(AgentError::NotReady(ready_within)),
    }
}
