//! The relay QEMU runs for each guest connection to a granted service
//! (`guestfwd=…-cmd:aether-relay HOST PORT`): the guest's bytes arrive on
//! stdin and its answers go to stdout. When the guest half-closes, the
//! service's side is half-closed too and its answer still comes back;
//! the relay ends when the service closes.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};

/// Relays stdin/stdout to `host:port` until the service closes.
pub fn relay_stdio(host: &str, port: u16) -> io::Result<()> {
    let upstream = TcpStream::connect((host, port))?;
    let _ = upstream.set_nodelay(true);
    let mut to_service = upstream.try_clone()?;
    let sending = std::thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to_service.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        // The guest is done sending; the service may still answer.
        let _ = to_service.shutdown(Shutdown::Write);
    });
    let mut from_service = upstream;
    let mut stdout = io::stdout().lock();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from_service.read(&mut buf)?;
        if n == 0 {
            break;
        }
        stdout.write_all(&buf[..n])?;
        stdout.flush()?;
    }
    drop(sending);
    Ok(())
}
