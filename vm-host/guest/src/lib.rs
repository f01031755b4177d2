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

use aether_vm_protocol::{Frame, GuestConfig, Kind, VERSION};

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

fn serve() -> Result<(), String> {
    let channel = init::open_channel().map_err(|e| format!("no channel to the host: {e}"))?;
    let mut reader = channel.try_clone().map_err(|e| format!("channel: {e}"))?;
    let (outbox, outgoing) = mpsc::channel::<Frame>();
    std::thread::spawn(move || write_frames(channel, outgoing));

    let mut hello = VERSION.to_be_bytes().to_vec();
    hello.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    send(&outbox, Frame::new(Kind::Hello, 0, hello));

    let config: GuestConfig = loop {
        let frame = Frame::read_from(&mut reader).map_err(|e| e.to_string())?;
        match frame.kind {
            Kind::Config => break frame.json().map_err(|e| e.to_string())?,
            Kind::Shutdown => return Ok(()),
            other => log(&format!("ignoring {other:?} before the config")),
        }
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

    // Each request's body goes to its own relay thread.
    let mut bodies: HashMap<u64, mpsc::Sender<Vec<u8>>> = HashMap::new();
    loop {
        let frame = match Frame::read_from(&mut reader) {
            Ok(frame) => frame,
            Err(e) => {
                program.stop();
                return Err(e.to_string());
            }
        };
        match frame.kind {
            Kind::RequestHead => match frame.json() {
                Ok(head) => {
                    let (tx, rx) = mpsc::channel();
                    bodies.insert(frame.id, tx);
                    relay::spawn(frame.id, head, rx, config.port, outbox.clone());
                }
                Err(e) => send(
                    &outbox,
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
            Kind::Shutdown => {
                program.stop();
                return Ok(());
            }
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
