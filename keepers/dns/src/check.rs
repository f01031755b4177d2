//! Checking one domain: what `_aether.<domain>` TXT says about a target.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::TokioResolver;

/// What the record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A TXT record names the target, and none names another.
    Names,
    /// The name has no TXT record (or does not exist).
    Missing,
    /// The records name another target, several targets, or are too big.
    Wrong(String),
    /// No answer (timeout, server failure, refusal): no vote either way.
    Unknown(String),
}

impl Verdict {
    /// The vote it gives: `None` abstains.
    pub fn vote(&self) -> Option<bool> {
        match self {
            Verdict::Names => Some(true),
            Verdict::Missing | Verdict::Wrong(_) => Some(false),
            Verdict::Unknown(_) => None,
        }
    }
}

/// A resolver that asks only `server` (UDP with EDNS, TCP when the answer
/// is truncated), with no cache, so each check sees the zone as it is now.
pub fn resolver(server: SocketAddr, timeout: Duration) -> TokioResolver {
    let mut config = ResolverConfig::new();
    config.add_name_server(NameServerConfig::new(server, Protocol::Udp));
    config.add_name_server(NameServerConfig::new(server, Protocol::Tcp));
    let mut options = ResolverOpts::default();
    options.timeout = timeout;
    options.attempts = 1;
    options.cache_size = 0;
    // EDNS lets answers up to 1,232 bytes come over UDP.
    options.edns0 = true;
    options.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
    TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
        .with_options(options)
        .build()
}

/// Looks up `_aether.<domain>` TXT and judges it against `target` (the
/// item hash, hex). Records over `max_bytes` in all are refused whole.
pub async fn check(
    resolver: &TokioResolver,
    domain: &str,
    target: &str,
    max_bytes: usize,
) -> Verdict {
    let name = format!("_aether.{domain}.");
    let lookup = match resolver.txt_lookup(name).await {
        Ok(lookup) => lookup,
        Err(e) if e.is_nx_domain() || e.is_no_records_found() => return Verdict::Missing,
        Err(e) => return Verdict::Unknown(e.to_string()),
    };
    let mut total = 0usize;
    let mut texts = Vec::new();
    for txt in lookup.iter() {
        let mut text = Vec::new();
        for part in txt.txt_data() {
            total = total.saturating_add(part.len());
            text.extend_from_slice(part);
        }
        if total > max_bytes {
            return Verdict::Wrong(format!("TXT records over {max_bytes} bytes"));
        }
        texts.push(String::from_utf8_lossy(&text).trim().to_ascii_lowercase());
    }
    let target = target.to_ascii_lowercase();
    let names_target = texts.contains(&target);
    let others: Vec<&String> = texts
        .iter()
        .filter(|t| **t != target && t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    match (names_target, others.is_empty()) {
        (true, true) => Verdict::Names,
        (true, false) => Verdict::Wrong("the records name more than one target".into()),
        (false, _) if texts.is_empty() => Verdict::Missing,
        (false, _) => Verdict::Wrong("the records name another target".into()),
    }
}
