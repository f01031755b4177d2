//! Checking one domain: what `_aether.<domain>` TXT says about a binding
//! (a target and its owner, written as `aether_sdk`'s `txt_value`).

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::TokioResolver;

/// What the record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A TXT record names the target and owner, and none names another.
    Names,
    /// The name has no TXT record (or does not exist).
    Missing,
    /// The records name another binding, several, or are too big.
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

/// A TXT string in a comparable form: the hex target lowercased, one space
/// before the base58 owner (which is case-sensitive).
fn normalize(text: &str) -> String {
    let mut words = text.split_whitespace();
    let target = words.next().unwrap_or_default().to_ascii_lowercase();
    std::iter::once(target)
        .chain(words.map(str::to_owned))
        .collect::<Vec<_>>()
        .join(" ")
}

/// True for a string that names some binding: 64 hex digits first.
fn names_a_binding(text: &str) -> bool {
    let target = text.split(' ').next().unwrap_or_default();
    target.len() == 64 && target.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Looks up `_aether.<domain>` TXT and judges it against `expected` (the
/// binding's `txt_value`). Records over `max_bytes` in all are refused whole.
pub async fn check(
    resolver: &TokioResolver,
    domain: &str,
    expected: &str,
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
        texts.push(normalize(&String::from_utf8_lossy(&text)));
    }
    let expected = normalize(expected);
    let names_it = texts.contains(&expected);
    let others = texts
        .iter()
        .filter(|t| **t != expected && names_a_binding(t))
        .count();
    match (names_it, others) {
        (true, 0) => Verdict::Names,
        (true, _) => Verdict::Wrong("the records name more than one binding".into()),
        (false, _) if texts.is_empty() => Verdict::Missing,
        (false, _) => Verdict::Wrong(
            "the records do not name this target and owner (`<item hash hex> <owner base58>`)"
                .into(),
        ),
    }
}
