//! Several JSON-RPC endpoints of one cluster. Each request goes to a random
//! healthy endpoint; one that errors, or lags behind the others, rests for
//! a while and the request is retried on another.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::client_error::Error as ClientError;

/// One endpoint and its health.
pub struct Endpoint {
    /// Its JSON-RPC URL.
    pub url: String,
    client: Arc<RpcClient>,
    rested_until: Mutex<Option<Instant>>,
}

impl Endpoint {
    /// Left out for now after an error or lag.
    pub fn is_resting(&self) -> bool {
        self.resting(Instant::now())
    }

    fn resting(&self, now: Instant) -> bool {
        self.rested_until
            .lock()
            .unwrap()
            .is_some_and(|until| until > now)
    }

    fn rest(&self, rest: Duration, why: &str) {
        tracing::warn!(endpoint = %self.url, why, rest_secs = rest.as_secs(), "endpoint resting");
        *self.rested_until.lock().unwrap() = Some(Instant::now() + rest);
    }
}

/// The endpoints, with the rules for picking one.
pub struct Endpoints {
    list: Vec<Endpoint>,
    rest: Duration,
    max_lag_slots: u64,
}

/// Every endpoint failed this request.
#[derive(Debug, thiserror::Error)]
#[error("no endpoint answered: {0}")]
pub struct AllFailed(pub String);

impl Endpoints {
    /// Clients for `urls`, read at `confirmed` commitment.
    pub fn new(urls: &[String], rest: Duration, max_lag_slots: u64) -> Self {
        let list = urls
            .iter()
            .map(|url| Endpoint {
                url: url.clone(),
                client: Arc::new(RpcClient::new_with_timeout_and_commitment(
                    url.clone(),
                    Duration::from_secs(10),
                    CommitmentConfig::confirmed(),
                )),
                rested_until: Mutex::new(None),
            })
            .collect();
        Endpoints {
            list,
            rest,
            max_lag_slots,
        }
    }

    /// The endpoints, resting or not.
    pub fn all(&self) -> &[Endpoint] {
        &self.list
    }

    /// Healthy endpoints first, in random order, then resting ones: a
    /// request still goes somewhere when all of them are resting.
    fn order(&self) -> Vec<&Endpoint> {
        let now = Instant::now();
        let mut healthy: Vec<&Endpoint> = self.list.iter().filter(|e| !e.resting(now)).collect();
        let mut resting: Vec<&Endpoint> = self.list.iter().filter(|e| e.resting(now)).collect();
        let mut rng = rand::thread_rng();
        healthy.shuffle(&mut rng);
        resting.shuffle(&mut rng);
        healthy.extend(resting);
        healthy
    }

    /// Runs `call` on one endpoint after another until one answers.
    pub async fn call<T, F, Fut>(&self, what: &str, call: F) -> Result<T, AllFailed>
    where
        F: Fn(Arc<RpcClient>) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let mut errors = Vec::new();
        for endpoint in self.order() {
            match call(endpoint.client.clone()).await {
                Ok(value) => return Ok(value),
                Err(e) => {
                    endpoint.rest(self.rest, &format!("{what}: {e}"));
                    errors.push(format!("{}: {e}", endpoint.url));
                }
            }
        }
        Err(AllFailed(errors.join("; ")))
    }

    /// Asks every endpoint for its slot; rests those that fail or are more
    /// than `max_lag_slots` behind the best. Returns the best slot.
    pub async fn check(&self) -> Option<u64> {
        let slots = futures_util::future::join_all(
            self.list
                .iter()
                .map(|e| async move { e.client.get_slot().await }),
        )
        .await;
        let best = slots.iter().filter_map(|s| s.as_ref().ok()).max().copied();
        for (endpoint, slot) in self.list.iter().zip(&slots) {
            match (slot, best) {
                (Err(e), _) => endpoint.rest(self.rest, &format!("getSlot: {e}")),
                (Ok(slot), Some(best)) if best.saturating_sub(*slot) > self.max_lag_slots => {
                    endpoint.rest(self.rest, &format!("{} slots behind", best - slot))
                }
                _ => {}
            }
        }
        best
    }
}
