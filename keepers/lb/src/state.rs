//! What the load balancer knows: the routes read from announcements, the
//! shared state of the handlers, and the counters.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use aether_sdk::message::Content;
use aether_sdk::node_client::{MessageFilter, NodeClient};
use aether_sdk::programs::client::AetherClient;
use aether_sdk::programs::registry;
use aether_sdk::registry_program::state::NodeKind;
use aether_sdk::vm::{Announcement, ANNOUNCEMENT_TYPE};

use crate::placement::PlaceError;
use crate::{Config, LbError};

/// One node that serves a program.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Target {
    /// Its registry record.
    pub node: String,
    /// Its vm-host URL, as it announced.
    pub endpoint: String,
    /// Its score on chain.
    pub score: u16,
}

/// A node that announced itself, serving or not: one that may be asked
/// to serve a program.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Standby {
    /// Its registry record.
    pub node: String,
    /// Its vm-host URL.
    pub endpoint: String,
    /// Its provisioner's API.
    pub provisioner: String,
    /// Its score on chain.
    pub score: u16,
}

/// Counters shown on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Nodes that agreed to serve a program when asked.
    pub placements: AtomicU64,
    /// Asks no node agreed to.
    pub placement_failures: AtomicU64,
    /// Route refreshes done, and failed.
    pub refreshes: AtomicU64,
    /// Refreshes that failed.
    pub refresh_errors: AtomicU64,
    /// Requests answered by a node.
    pub relayed: AtomicU64,
    /// Tries that failed and went to the next node.
    pub retries: AtomicU64,
    /// Requests no node could answer.
    pub unserved: AtomicU64,
    /// Announcements ignored: the sender does not own the node.
    pub forged: AtomicU64,
}

#[derive(Default)]
pub(crate) struct Routes {
    pub(crate) programs: HashMap<String, Vec<Target>>,
    pub(crate) domains: HashMap<String, String>,
    pub(crate) standby: Vec<Standby>,
}

/// A program's traffic through this load balancer.
#[derive(Default)]
pub(crate) struct Load {
    /// Requests for the program in flight, over all its nodes.
    pub(crate) requests: Arc<AtomicUsize>,
    /// Moving average of answer times, ms (the first answer, often a
    /// boot, is left out).
    pub(crate) average_ms: Mutex<f64>,
    pub(crate) answers: AtomicU64,
}

/// A provisioner's API URL as announced, if it is a plain
/// `http(s)://host[:port]`: nothing else is ever requested.
fn provisioner_url(announced: &str) -> Option<String> {
    let url = announced.trim_end_matches('/');
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let plain = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    plain.then(|| url.to_owned())
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) routes: RwLock<Routes>,
    /// Nodes that agreed to serve a program, until their announcement shows.
    pub(crate) placed: Mutex<HashMap<String, Vec<(Target, Instant)>>>,
    /// The last ask per program, and why it failed.
    pub(crate) asked: Mutex<HashMap<String, (Instant, Option<PlaceError>)>>,
    /// One synchronous ask at a time per program.
    pub(crate) placing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    pub(crate) load: Mutex<HashMap<String, Arc<Load>>>,
    /// Requests in flight per node endpoint, whatever the program.
    pub(crate) busy: Mutex<HashMap<String, Arc<AtomicUsize>>>,
    pub(crate) resting: Mutex<HashMap<String, Instant>>,
    /// Turns the order among equally good nodes, request after request.
    pub(crate) turn: AtomicUsize,
    pub(crate) http: reqwest::Client,
    pub(crate) metrics: Metrics,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Self {
        Shared {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a plain HTTP client builds"),
            config,
            routes: RwLock::default(),
            placed: Mutex::default(),
            asked: Mutex::default(),
            placing: Mutex::default(),
            load: Mutex::default(),
            busy: Mutex::default(),
            resting: Mutex::default(),
            turn: AtomicUsize::new(0),
            metrics: Metrics::default(),
        }
    }

    /// Reads announcements, records, scores and live domains again.
    pub(crate) async fn refresh(&self, client: &Arc<AetherClient>) -> Result<(), LbError> {
        let client = client.clone();
        let (records, bindings) = aether_keeper::blocking(move || {
            Ok::<_, LbError>((client.node_records()?, client.domain_bindings()?))
        })
        .await?;
        let records: HashMap<String, _> = records
            .into_iter()
            .filter(|(_, r)| r.kind == NodeKind::Resource)
            .map(|(k, r)| (k.to_string(), r))
            .collect();
        let node = NodeClient::new(self.config.node_url.clone());
        let filter = MessageFilter {
            content_types: vec![ANNOUNCEMENT_TYPE.into()],
            ..Default::default()
        };
        // Newest first: the first announcement of a node is its latest.
        let page = node
            .messages(&filter, 1, 500)
            .await
            .map_err(|e| LbError::Node(e.to_string()))?;
        let mut seen = std::collections::HashSet::new();
        let mut programs: HashMap<String, Vec<Target>> = HashMap::new();
        let mut standby = Vec::new();
        for message in page.messages {
            let Ok(Content::Post(post)) = message.content() else {
                continue;
            };
            let Some(announced) = post
                .content
                .and_then(|body| serde_json::from_value::<Announcement>(body).ok())
            else {
                continue;
            };
            let (record, endpoint) = (announced.node.clone(), announced.endpoint().to_owned());
            let Some(registered) = records.get(&record) else {
                continue;
            };
            if registered.owner.to_string() != message.sender {
                self.metrics.forged.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if !seen.insert(record.clone()) {
                continue;
            }
            if let Some(provisioner) = announced.provisioner.as_deref().and_then(provisioner_url) {
                standby.push(Standby {
                    node: record.clone(),
                    endpoint: endpoint.clone(),
                    provisioner,
                    score: registered.score,
                });
            }
            for hash in announced.programs {
                programs.entry(hash).or_default().push(Target {
                    node: record.clone(),
                    endpoint: endpoint.clone(),
                    score: registered.score,
                });
            }
        }
        let domains = registry::live_domains(bindings.into_iter().map(|(_, b)| b))
            .into_iter()
            .map(|(domain, target)| (domain, hex::encode(target)))
            .collect();
        *self.routes.write().unwrap() = Routes {
            programs,
            domains,
            standby,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_provisioner_urls_are_asked() {
        assert_eq!(
            provisioner_url("http://127.0.0.1:4034/").as_deref(),
            Some("http://127.0.0.1:4034")
        );
        assert!(provisioner_url("https://[::1]:4034").is_some());
        for bad in [
            "file:///etc/passwd",
            "http://",
            "http://a.test/admin?x=1",
            "http://user@a.test",
            "gopher://a.test",
        ] {
            assert_eq!(provisioner_url(bad), None, "{bad}");
        }
    }
}
