//! One round of the provisioner: read the chain and the core node, decide
//! what to serve (joining the streams that pay for it), then act on it
//! (`converge.rs`); and a round a load balancer asks for.

mod converge;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::escrow_program::state::Stream;
use aether_sdk::message::sign::SolanaAccount;
use aether_sdk::message::Message;
use aether_sdk::node_client::{MessageFilter, MessageStatus, NodeClient};
use aether_sdk::programs::client::AetherClient;
use aether_sdk::programs::registry;
use aether_sdk::registry_program::state::NodeRecord;
use aether_vm_host::Host;

use crate::plan::{self, Refusal};
use crate::spec::{self, Wanted};
use crate::{Config, Metrics, ProvisionerError, Served};

pub(crate) struct Worker {
    config: Config,
    client: Arc<AetherClient>,
    account: SolanaAccount,
    node: NodeClient,
    record: Pubkey,
    host: Arc<tokio::sync::Mutex<Option<Host>>>,
    serving: Arc<Mutex<BTreeMap<String, Served>>>,
    announced: Mutex<Option<Vec<String>>>,
    pub(crate) metrics: Arc<Metrics>,
    /// This provisioner's API, named in announcements.
    api_url: String,
    /// Why each program was not served in the last round.
    refusals: Mutex<BTreeMap<String, Refusal>>,
    /// One round at a time (the loop's, or one a request started).
    round_lock: tokio::sync::Mutex<()>,
}

/// Why `/serve` did not serve.
pub(crate) enum ServeRefusal {
    /// This node will not (409).
    Refused(String),
    /// The round failed: the chain or the core node (503, try later).
    Unavailable(String),
}

/// Blocking work with this crate's error type (so call sites need no
/// annotation).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ProvisionerError> + Send + 'static,
) -> Result<T, ProvisionerError> {
    aether_keeper::blocking(f).await
}

impl Worker {
    /// A worker signing with `keypair` and `account`, driving `host`;
    /// `api_url` is the provisioner's API.
    pub(crate) fn new(
        config: Config,
        keypair: solana_keypair::Keypair,
        account: SolanaAccount,
        api_url: String,
        host: Arc<tokio::sync::Mutex<Option<Host>>>,
        serving: Arc<Mutex<BTreeMap<String, Served>>>,
        metrics: Arc<Metrics>,
    ) -> Worker {
        Worker {
            api_url,
            refusals: Mutex::default(),
            round_lock: tokio::sync::Mutex::new(()),
            client: Arc::new(AetherClient::new(&config.rpc_url, keypair)),
            account,
            node: NodeClient::new(config.node_url.clone()),
            record: registry::record(&config.identity),
            host,
            serving,
            announced: Mutex::new(None),
            metrics,
            config,
        }
    }

    /// Every PROGRAM and INSTANCE the core node holds, processed and not
    /// forgotten.
    async fn programs(&self) -> Result<BTreeMap<String, Message>, ProvisionerError> {
        let filter = MessageFilter {
            types: vec!["PROGRAM".into(), "INSTANCE".into()],
            ..Default::default()
        };
        let mut out = BTreeMap::new();
        for page in 1.. {
            let got = self
                .node
                .messages(&filter, page, 200)
                .await
                .map_err(|e| ProvisionerError::Node(e.to_string()))?;
            let n = got.messages.len();
            for m in got.messages {
                out.insert(m.item_hash.clone(), m);
            }
            if n < 200 {
                break;
            }
        }
        Ok(out)
    }

    pub(crate) async fn round(&self) -> Result<(), ProvisionerError> {
        self.round_asking(None).await
    }

    /// A round; `asked` is a program a load balancer asks for, which this
    /// round may join even `on_demand`.
    async fn round_asking(&self, asked: Option<&str>) -> Result<(), ProvisionerError> {
        let _one = self.round_lock.lock().await;
        let asked: BTreeSet<String> = asked.into_iter().map(str::to_owned).collect();
        let mut refusals = BTreeMap::new();
        let result = self.round_inner(&asked, &mut refusals).await;
        for hash in &asked {
            if !refusals.contains_key(hash) && !self.serving.lock().unwrap().contains_key(hash) {
                refusals.insert(hash.clone(), Refusal::NoStream);
            }
        }
        *self.refusals.lock().unwrap() = refusals;
        result
    }

    async fn round_inner(
        &self,
        asked: &BTreeSet<String>,
        refusals: &mut BTreeMap<String, Refusal>,
    ) -> Result<(), ProvisionerError> {
        let (record, streams) = self.read_chain().await?;
        let programs = self.programs().await?;
        let paying =
            plan::paying_streams(streams, |hash| programs.contains_key(hash), &self.record);
        let (want, keep) = self
            .decide(&paying, &programs, &record, asked, refusals)
            .await;
        self.converge(want, &keep).await?;
        self.bind_domains().await?;
        self.announce().await;
        Ok(())
    }

    /// This node's registry record, and every stream.
    async fn read_chain(&self) -> Result<(NodeRecord, Vec<(Pubkey, Stream)>), ProvisionerError> {
        let client = self.client.clone();
        let identity = self.config.identity;
        blocking(move || {
            let record = client
                .node_record(&identity)?
                .ok_or(ProvisionerError::NotRegistered(identity))?;
            Ok((record, client.streams()?))
        })
        .await
    }

    /// What to serve and the stream paying for each (joined here if this
    /// node was not in it), and the served programs to keep as they are;
    /// why each other paying program is not served goes to `refusals`.
    async fn decide(
        &self,
        paying: &BTreeMap<String, (Pubkey, Stream)>,
        programs: &BTreeMap<String, Message>,
        record: &NodeRecord,
        asked: &BTreeSet<String>,
        refusals: &mut BTreeMap<String, Refusal>,
    ) -> (BTreeMap<String, (Wanted, Pubkey)>, BTreeSet<String>) {
        let mut want: BTreeMap<String, (Wanted, Pubkey)> = BTreeMap::new();
        // Served programs the core node could not be read about this
        // round: kept as they are, never stopped for a passing error.
        let mut keep = BTreeSet::new();
        let mut used = plan::Used::default();
        for (hash, (key, stream)) in paying {
            if stream.exhausted {
                refusals.insert(hash.clone(), Refusal::Exhausted);
                continue;
            }
            let message = &programs[hash];
            let Some(wanted) = self.read_wanted(hash, message, &mut keep, refusals).await else {
                continue;
            };
            let mine = stream.providers.iter().any(|p| p.record == self.record);
            if !mine {
                if let Some(refusal) = self.refuse_join(hash, asked, &used, &wanted, stream, record)
                {
                    refusals.insert(hash.clone(), refusal);
                    continue;
                }
                if let Err(refusal) = self.join(hash, key).await {
                    refusals.insert(hash.clone(), refusal);
                    continue;
                }
            }
            used = used.with(&wanted);
            want.insert(hash.clone(), (wanted, *key));
        }
        (want, keep)
    }

    /// What vm-host would run for `hash` (its `message`), read from the
    /// core node; none if it was forgotten, cannot be read (then kept in
    /// `keep` as it is when the core node did not answer) or cannot be
    /// served.
    async fn read_wanted(
        &self,
        hash: &str,
        message: &Message,
        keep: &mut BTreeSet<String>,
        refusals: &mut BTreeMap<String, Refusal>,
    ) -> Option<Wanted> {
        let status = self.node.message(hash).await.map(|m| m.status);
        if matches!(
            status,
            Ok(MessageStatus::Forgotten | MessageStatus::Removed | MessageStatus::Removing)
        ) {
            refusals.insert(hash.to_owned(), Refusal::Forgotten);
            return None;
        }
        let content = match spec::content(&self.node, message).await {
            Ok(content) => content,
            Err(e) => {
                tracing::warn!(program = %hash, error = %e, "unreadable message");
                if matches!(e, spec::SpecError::Node { .. }) {
                    keep.insert(hash.to_owned());
                }
                return None;
            }
        };
        match spec::wanted_for(&self.node, hash, &content).await {
            None => None,
            Some(Ok(w)) => Some(w),
            Some(Err(e)) => {
                tracing::warn!(program = %hash, error = %e, "cannot serve");
                if matches!(e, spec::SpecError::Node { .. }) {
                    keep.insert(hash.to_owned());
                }
                refusals.insert(hash.to_owned(), Refusal::Unservable(e.to_string()));
                None
            }
        }
    }

    /// Why this node does not join the stream paying for `hash`, which it
    /// is not in, if it does not: not asked (on demand), no room left after
    /// `used`, or not worth joining.
    fn refuse_join(
        &self,
        hash: &str,
        asked: &BTreeSet<String>,
        used: &plan::Used,
        wanted: &Wanted,
        stream: &Stream,
        record: &NodeRecord,
    ) -> Option<Refusal> {
        if self.config.on_demand && !asked.contains(hash) {
            return Some(Refusal::NotAsked);
        }
        if !used.fits(wanted, &record.capacity) {
            return Some(Refusal::NoRoom);
        }
        if !self.worth_joining(stream, record) {
            return Some(Refusal::NotWorthJoining);
        }
        None
    }

    /// Joins stream `key`, which pays for `hash`.
    async fn join(&self, hash: &str, key: &Pubkey) -> Result<(), Refusal> {
        let client = self.client.clone();
        let (identity, stream_key) = (self.config.identity, *key);
        match blocking(move || Ok(client.join_stream(&identity, &stream_key)?)).await {
            Ok(signature) => {
                tracing::info!(program = %hash, stream = %key, %signature, "joined stream");
                self.metrics.joined.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                // Another provider may have taken the last slot.
                tracing::warn!(program = %hash, error = %e, "could not join");
                Err(Refusal::JoinFailed(e.to_string()))
            }
        }
    }

    /// The stream pays this node's price for one more slot, has a free
    /// slot, and admits it (by name, or by its serve policy).
    fn worth_joining(&self, stream: &Stream, record: &NodeRecord) -> bool {
        let n = stream.providers.len();
        n < usize::from(stream.replicas)
            && stream.admits(&self.record, record)
            && stream.pays_at_least(
                stream.share(n as u64 + 1),
                record.min_price_compute_per_second,
            )
    }

    /// Serves `hash` now if this node can: a round that may join its
    /// stream; vm-host's URL, or why not.
    pub(crate) async fn serve_now(&self, hash: &str) -> Result<String, ServeRefusal> {
        if !self.serving.lock().unwrap().contains_key(hash) {
            self.round_asking(Some(hash))
                .await
                .map_err(|e| ServeRefusal::Unavailable(e.to_string()))?;
        }
        if self.serving.lock().unwrap().contains_key(hash) {
            return Ok(self.host_url().await);
        }
        Err(ServeRefusal::Refused(
            self.refusals
                .lock()
                .unwrap()
                .get(hash)
                .map_or_else(|| "not served here".into(), Refusal::to_string),
        ))
    }

    async fn host_url(&self) -> String {
        self.host
            .lock()
            .await
            .as_ref()
            .map(|h| h.url())
            .unwrap_or_default()
    }
}
