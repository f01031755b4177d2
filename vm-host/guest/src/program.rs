//! The user's program: started by `/bin/sh -c`, watched until it answers
//! on its port (then `Ready`), its output kept (last lines) and echoed to
//! the console, its exit reported with those lines (`Exited`).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aether_vm_protocol::{Exit, Frame, GuestConfig, Kind};

use crate::{log, send, Outbox};

/// Lines of output kept for the exit report.
const KEPT_LINES: usize = 50;

/// The running program.
pub struct Program {
    pid: i32,
    exited: Arc<AtomicBool>,
}

impl Program {
    /// Ends the program: SIGTERM, then SIGKILL after two seconds.
    pub fn stop(&self) {
        // SAFETY: kill takes no pointers.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
        for _ in 0..40 {
            if self.exited.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
    }
}

/// Why the program did not start.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    /// The root or working directory holds a NUL byte.
    #[error(transparent)]
    Nul(#[from] std::ffi::NulError),
    /// The shell did not start.
    #[error("starting {entrypoint:?}: {source}")]
    Spawn {
        /// What it was to run.
        entrypoint: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Starts the program of `config`.
pub fn start(config: &GuestConfig, outbox: Outbox) -> Result<Program, ProgramError> {
    let mut child = command(config)?
        .spawn()
        .map_err(|source| ProgramError::Spawn {
            entrypoint: config.entrypoint.clone(),
            source,
        })?;
    let pid = child.id() as i32;
    let lines = Arc::new(Mutex::new(VecDeque::with_capacity(KEPT_LINES)));
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let lines = lines.clone();
        std::thread::spawn(move || keep_lines(stream, lines));
    }
    let exited = Arc::new(AtomicBool::new(false));
    watch_ready(exited.clone(), outbox.clone(), config.port);
    reap(pid, exited.clone(), lines, outbox);
    // The Child is not waited on through std: the reaper owns that.
    std::mem::forget(child);
    Ok(Program { pid, exited })
}

/// `/bin/sh -c` with the entrypoint, its environment and output pipes,
/// chrooted into the instance's root when there is one.
fn command(config: &GuestConfig) -> Result<Command, ProgramError> {
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(&config.entrypoint)
        .current_dir(&config.workdir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", "/tmp")
        .env("PORT", config.port.to_string())
        .envs(config.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(root) = &config.root {
        let root = std::ffi::CString::new(root.as_str())?;
        let workdir = std::ffi::CString::new(config.workdir.as_str())?;
        // std changes directory before this runs, so the working directory
        // is taken again inside the new root.
        command.current_dir("/");
        // SAFETY: chroot and chdir take C strings that outlive the child's
        // start; nothing here allocates.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                if libc::chroot(root.as_ptr()) != 0 || libc::chdir(workdir.as_ptr()) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    Ok(command)
}

/// Ready once the port answers.
fn watch_ready(exited: Arc<AtomicBool>, outbox: Outbox, port: u16) {
    std::thread::spawn(move || loop {
        if exited.load(Ordering::SeqCst) {
            return;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            log(&format!("the program answers on port {port}"));
            send(&outbox, Frame::new(Kind::Ready, 0, Vec::new()));
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    });
}

/// The reaper: as PID 1 every orphan ends up ours, so wait for any
/// child, and report when it is the program.
fn reap(pid: i32, exited: Arc<AtomicBool>, lines: Arc<Mutex<VecDeque<String>>>, outbox: Outbox) {
    std::thread::spawn(move || loop {
        let mut status = 0;
        // SAFETY: waitpid writes only `status`.
        let got = unsafe { libc::waitpid(-1, &mut status, 0) };
        if got < 0 {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        if got == pid {
            let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
            exited.store(true, Ordering::SeqCst);
            // Let the output threads take what the program last wrote.
            std::thread::sleep(Duration::from_millis(20));
            let last_lines = lines
                .lock()
                .map(|l| l.iter().cloned().collect())
                .unwrap_or_default();
            log(&format!("the program exited ({code:?})"));
            let exit = Exit { code, last_lines };
            send(
                &outbox,
                Frame::new(
                    Kind::Exited,
                    0,
                    serde_json::to_vec(&exit).expect("an exit serializes"),
                ),
            );
        }
    });
}

fn keep_lines(stream: Box<dyn Read + Send>, lines: Arc<Mutex<VecDeque<String>>>) {
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        eprintln!("{line}");
        if let Ok(mut kept) = lines.lock() {
            if kept.len() == KEPT_LINES {
                kept.pop_front();
            }
            kept.push_back(line);
        }
    }
}
