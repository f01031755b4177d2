//! The guest agent. As `/init` of a micro-VM it mounts the kernel's file
//! systems and loads the modules the runtime lists, finds its channel to
//! the host (a virtio-serial port named `aether.agent`, or vsock when the
//! kernel command line says `aether.vsock=<port>`), says hello, takes its
//! [`GuestConfig`], mounts the volumes, sets up the network, starts the
//! user's program and relays HTTP requests to it (see `relay`).
//!
//! Built static (`-C target-feature=+crt-static`) so that the initramfs
//! needs no C library.

mod init;
mod program;
mod relay;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::mpsc;

use aether_vm_protocol::{Frame, FrameError, GuestConfig, Kind, VERSION};

/// Frames on their way to the host.
pub(crate) type Outbox = mpsc::Sender<Frame>;

/// Logs a line on the console (the VM's serial port).
pub(crate) fn log(line: &str) {
    eprintln!("aether-guest: {line}");
}

/// The agent's life: set up, serve, power off.
pub fn run() {
    let pid1 = std::process::id() == 1;
    if pid1 {
        if let Err(e) = init::early() {
            log(&format!("early init failed: {e}"));
        }
    }
    let result = serve();
    if let Err(e) = &result {
        log(&format!("stopping: {e}"));
    }
    if pid1 {
        init::power_off();
    }
}

/// Why the agent stopped serving.
#[derive(Debug, thiserror::Error)]
enum ServeError {
    /// No channel to the host.
    #[error("no channel to the host: {0}")]
    NoChannel(#[source] std::io::Error),
    /// The channel could not be shared between reader and writer.
    #[error("channel: {0}")]
    Channel(#[source] std::io::Error),
    /// A frame from the host did not read or decode.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The volumes, the root or the network.
    #[error(transparent)]
    Init(#[from] init::InitError),
    /// The program did not start.
    #[error(transparent)]
    Program(#[from] program::ProgramError),
}

fn serve() -> Result<(), ServeError> {
    let channel = init::open_channel().map_err(ServeError::NoChannel)?;
    let mut reader = channel.try_clone().map_err(ServeError::Channel)?;
    let (outbox, outgoing) = mpsc::channel::<Frame>();
    std::thread::spawn(move || write_frames(channel, outgoing));

    let mut hello = VERSION.to_be_bytes().to_vec();
    hello.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    send(&outbox, Frame::new(Kind::Hello, 0, hello));

    let Some(config) = read_config(&mut reader)? else {
        return Ok(());
    };
    log("config received");
    if std::process::id() == 1 {
        init::mounts(&config.mounts)?;
        init::network(config.network.as_ref())?;
        if let Some(root) = &config.root {
            init::enter_root(root)?;
        }
    }
    let program = program::start(&config, outbox.clone())?;
    log(&format!("started {:?}", config.entrypoint));
    let result = relay_requests(&mut reader, &config, &outbox);
    program.stop();
    result
}

/// The config the host sends after the hello; `None` when the host shuts
/// the VM down first.
fn read_config(reader: &mut File) -> Result<Option<GuestConfig>, ServeError> {
    loop {
        let frame = Frame::read_from(reader)?;
        match frame.kind {
            Kind::Config => return Ok(Some(frame.json()?)),
            Kind::Shutdown => return Ok(None),
            other => log(&format!("ignoring {other:?} before the config")),
        }
    }
}

/// Hands each request from the host to a relay thread of its own, until
/// the host shuts the VM down or the channel fails.
fn relay_requests(
    reader: &mut File,
    config: &GuestConfig,
    outbox: &Outbox,
) -> Result<(), ServeError> {
    // Each request's body goes to its own relay thread.
    let mut bodies: HashMap<u64, mpsc::Sender<Vec<u8>>> = HashMap::new();
    loop {
        let frame = Frame::read_from(reader)?;
        match frame.kind {
            Kind::RequestHead => match frame.json() {
                Ok(head) => {
                    let (tx, rx) = mpsc::channel();
                    bodies.insert(frame.id, tx);
                    relay::spawn(frame.id, head, rx, config.port, outbox.clone());
                }
                Err(e) => send(
                    outbox,
                    Frame::new(Kind::Error, frame.id, e.to_string().into_bytes()),
                ),
            },
            Kind::Body => {
                if let Some(tx) = bodies.get(&frame.id) {
                    let _ = tx.send(frame.payload);
                }
            }
            Kind::End => {
                bodies.remove(&frame.id);
            }
            Kind::Shutdown => return Ok(()),
            other => log(&format!("ignoring {other:?} from the host")),
        }
    }
}

pub(crate) fn send(outbox: &Outbox, frame: Frame) {
    let _ = outbox.send(frame);
}

fn write_frames(channel: File, frames: mpsc::Receiver<Frame>) {
    let mut out = BufWriter::with_capacity(256 * 1024, channel);
    while let Ok(frame) = frames.recv() {
        if frame.write_to(&mut out).is_err() {
            return;
        }
        // Write what is queued together, then flush once.
        while let Ok(more) = frames.try_recv() {
            if more.write_to(&mut out).is_err() {
                return;
            }
        }
        if out.flush().is_err() {
            return;
        }
    }
}
