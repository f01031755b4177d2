//! Native programs print their `msg!` lines (Anchor's instruction names,
//! its error reports) with `println!`: off chain there is no log syscall.
//! So that they neither mix with what a command prints on stdout nor get
//! lost, stdout is turned into a pipe whose lines go to the log (target
//! `program`), and the command writes its own output to the real stdout.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::FromRawFd;

/// The process's real stdout, after [`capture`].
pub struct RealStdout(File);

impl RealStdout {
    pub fn print(&mut self, text: &str) -> std::io::Result<()> {
        self.0.write_all(text.as_bytes())?;
        self.0.write_all(b"\n")?;
        self.0.flush()
    }
}

/// Redirects file descriptor 1 into the log and returns the real stdout.
pub fn capture() -> std::io::Result<RealStdout> {
    let mut fds = [0; 2];
    // SAFETY: plain POSIX calls on descriptors this function owns.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let real = libc::dup(1);
        if real < 0 || libc::dup2(fds[1], 1) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        libc::close(fds[1]);
        let reader = File::from_raw_fd(fds[0]);
        std::thread::Builder::new()
            .name("program-output".into())
            .spawn(move || {
                for line in BufReader::new(reader).lines().map_while(Result::ok) {
                    tracing::info!(target: "program", "{line}");
                }
            })?;
        Ok(RealStdout(File::from_raw_fd(real)))
    }
}
