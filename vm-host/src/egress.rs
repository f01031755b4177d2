//! The guests' way out: an HTTP proxy on the host (CONNECT for TLS, and
//! absolute-form requests for plain HTTP) that every VM with a network is
//! granted at [`GUEST_PROXY`], and that its program finds in `HTTP_PROXY`
//! and `HTTPS_PROXY`. It refuses destinations on the host itself and on
//! private networks (by default), so user code reaches web APIs and public
//! RPC endpoints but no host service it was not granted.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Where guests find the proxy.
pub const GUEST_PROXY: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 2, 4), 3128);

/// Largest request head the proxy reads.
const MAX_HEAD: usize = 16 * 1024;

/// An address range, as `addr/prefix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    /// The first address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl Net {
    /// True when `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            if prefix == 0 {
                0
            } else {
                bits >> (width - prefix.min(width))
            }
        }
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                masked(u32::from(a) as u128, self.prefix, 32)
                    == masked(u32::from(b) as u128, self.prefix, 32)
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                masked(u128::from(a), self.prefix, 128) == masked(u128::from(b), self.prefix, 128)
            }
            (IpAddr::V6(a), IpAddr::V4(b)) => a.to_ipv4_mapped().is_some_and(|a| {
                Net {
                    addr: IpAddr::V4(a),
                    prefix: self.prefix.saturating_sub(96),
                }
                .contains(IpAddr::V4(b))
            }),
            (IpAddr::V4(_), IpAddr::V6(b)) => b
                .to_ipv4_mapped()
                .is_some_and(|b| self.contains(IpAddr::V4(b))),
        }
    }
}

impl std::str::FromStr for Net {
    type Err = String;
    fn from_str(s: &str) -> Result<Net, String> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("{s}: expected addr/prefix"))?;
        let addr: IpAddr = addr.parse().map_err(|e| format!("{s}: {e}"))?;
        let prefix: u8 = prefix.parse().map_err(|e| format!("{s}: {e}"))?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > width {
            return Err(format!("{s}: prefix over {width}"));
        }
        Ok(Net { addr, prefix })
    }
}

/// What guests may not reach through the proxy: the host, private and
/// link-local networks, and the unspecified addresses.
pub fn default_deny() -> Vec<Net> {
    [
        "127.0.0.0/8",
        "0.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "::1/128",
        "::/128",
        "fc00::/7",
        "fe80::/10",
    ]
    .iter()
    .map(|n| n.parse().expect("a valid range"))
    .collect()
}

/// The running proxy.
pub struct Egress {
    /// Where it listens on the host.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Egress {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Egress {
    /// Listens on loopback, refusing destinations in `deny`.
    pub async fn start(deny: Vec<Net>) -> std::io::Result<Egress> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let deny = std::sync::Arc::new(deny);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let deny = deny.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(client, &deny).await {
                        tracing::debug!(error = %e, "egress connection ended");
                    }
                });
            }
        });
        Ok(Egress { addr, task })
    }
}

async fn refuse(client: &mut TcpStream, status: &str, why: &str) -> std::io::Result<()> {
    let body = format!("{why}\n");
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(answer.as_bytes()).await
}

/// What the proxy answers instead of relaying: a status line's code and
/// reason, and why (the body).
struct Refusal {
    status: &'static str,
    why: String,
}

impl Refusal {
    fn new(status: &'static str, why: impl Into<String>) -> Refusal {
        Refusal {
            status,
            why: why.into(),
        }
    }

    async fn send(self, client: &mut TcpStream) -> std::io::Result<()> {
        refuse(client, self.status, &self.why).await
    }
}

async fn serve(mut client: TcpStream, deny: &[Net]) -> std::io::Result<()> {
    let Some((head, end)) = read_head(&mut client).await? else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let (authority, rest) = match destination(&text) {
        Ok(found) => found,
        Err(refusal) => return refusal.send(&mut client).await,
    };
    let mut upstream = match dial(&authority, deny).await {
        Ok(upstream) => upstream,
        Err(refusal) => return refusal.send(&mut client).await,
    };
    match rest {
        None => {
            client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await?;
        }
        Some(request_line) => {
            // The request, in origin form, with what followed its head.
            let after_line = text
                .find("\r\n")
                .map(|i| &text[i..end])
                .unwrap_or("\r\n\r\n");
            upstream.write_all(request_line.as_bytes()).await?;
            upstream.write_all(after_line.as_bytes()).await?;
        }
    }
    upstream.write_all(&head[end..]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// What the client sent up to its head's blank line and past it, and
/// where the head ends; `None` when the client left first, or sent a head
/// too large (then refused).
async fn read_head(client: &mut TcpStream) -> std::io::Result<Option<(Vec<u8>, usize)>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), client.read(&mut buf))
            .await
            .map_err(|_| std::io::Error::other("no request head within 30 s"))??;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(Some((head, i + 4)));
        }
        if head.len() > MAX_HEAD {
            refuse(
                client,
                "431 Request Header Fields Too Large",
                "request head too large",
            )
            .await?;
            return Ok(None);
        }
    }
}

/// Where the request in `text` (its head) goes, as `host:port`, and for
/// plain HTTP its request line in origin form (`None` for CONNECT).
fn destination(text: &str) -> Result<(String, Option<String>), Refusal> {
    let line = text.lines().next().unwrap_or("");
    let mut parts = line.split_whitespace();
    let (method, target, version) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or("HTTP/1.1"),
    );
    if method.eq_ignore_ascii_case("CONNECT") {
        Ok((target.to_string(), None))
    } else if let Some(after) = target.strip_prefix("http://") {
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, "/"),
        };
        let port_given = authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
        let authority = if port_given {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok((authority, Some(format!("{method} {path} {version}"))))
    } else {
        Err(Refusal::new(
            "400 Bad Request",
            "expected CONNECT or an absolute http:// URL",
        ))
    }
}

/// A connection to `authority`, once every address it resolves to is
/// outside `deny`.
async fn dial(authority: &str, deny: &[Net]) -> Result<TcpStream, Refusal> {
    let Some((host, port)) = authority.rsplit_once(':') else {
        return Err(Refusal::new(
            "400 Bad Request",
            "the destination has no port",
        ));
    };
    let port: u16 = match port.parse() {
        Ok(p) => p,
        Err(_) => return Err(Refusal::new("400 Bad Request", "bad port")),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let resolved: Vec<SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => addrs.collect(),
        Err(e) => {
            return Err(Refusal::new(
                "502 Bad Gateway",
                format!("cannot resolve {host}: {e}"),
            ))
        }
    };
    // Every address the name has must be allowed, and the one checked is
    // the one dialled: a name cannot switch to a host service in between.
    if let Some(denied) = resolved
        .iter()
        .find(|a| deny.iter().any(|n| n.contains(a.ip())))
    {
        return Err(Refusal::new(
            "403 Forbidden",
            format!(
                "{} is on this host or a private network: not reachable from a VM",
                denied.ip()
            ),
        ));
    }
    let Some(dest) = resolved.first() else {
        return Err(Refusal::new(
            "502 Bad Gateway",
            format!("{host} has no address"),
        ));
    };
    match tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(dest)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(Refusal::new("502 Bad Gateway", format!("{dest}: {e}"))),
        Err(_) => Err(Refusal::new(
            "504 Gateway Timeout",
            format!("{dest}: no answer"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_hold_what_they_should() {
        let deny = default_deny();
        let denied = |ip: &str| deny.iter().any(|n| n.contains(ip.parse().unwrap()));
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(denied(ip), "{ip} must be denied");
        }
        for ip in ["1.1.1.1", "8.8.8.8", "172.32.0.1", "2606:4700::1111"] {
            assert!(!denied(ip), "{ip} must be allowed");
        }
        assert!("10.0.0.0/33".parse::<Net>().is_err());
        assert!("nonsense".parse::<Net>().is_err());
    }
}
