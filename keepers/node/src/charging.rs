//! Paying by holding tokens. With charging on, what an address keeps on
//! this node costs part of the stake token it holds on chain: a STORE its
//! file's MiB, a PROGRAM its vCPUs and MiB of memory, an INSTANCE those and
//! its root file system's MiB, at the prices of [`Costs`]. Holding is not
//! spending: nothing moves, the balance only has to cover the sum.
//!
//! - **On posting**, a message whose cost the sender's balance cannot cover
//!   on top of what it already uses is refused with the shortfall named,
//!   and nothing is stored. (A STORE whose file is not here yet, or content
//!   stored apart, cannot be priced then: the next round counts it.)
//! - **Each round**, an address whose balance fell below what it uses has
//!   its newest content marked `removing`, as much as needed to fit, with a
//!   time to collect it after [`ChargingConfig::grace`]; when the balance
//!   recovers the marks are lifted; past that time the content is
//!   `removed` and its files unpinned, so the file collector deletes them.
//! - **Exempt**: content paid by a stream: a STORE whose item hash is the
//!   resource of an open storage stream that is not exhausted, a PROGRAM
//!   or INSTANCE that is the resource of such a compute stream, and a
//!   PROGRAM or INSTANCE whose payment is a stream (`superfluid`).
//!
//! An address's posts are checked and written one at a time
//! ([`Charging::turn`]), so two racing posts that each fit the balance
//! alone cannot both be taken. Each message is priced once ([`Prices`]):
//! pricing an address reads its list of held messages, not their content.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::message::{Content, MessageType, PaymentType};
use aether_sdk::node_client::MessageStatus;
use aether_sdk::programs::client::AetherClient;
use rusqlite::Connection;

use crate::store::{Readers, StoreError};
use crate::writer::{StatusChange, Writer};

const MIB: u64 = 1024 * 1024;

/// Prices, in base units of the stake token held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Costs {
    /// Per MiB stored (a STORE's file, an instance's root file system);
    /// a part of a MiB counts whole.
    pub per_mib_stored: u64,
    /// Per vCPU of a PROGRAM or INSTANCE.
    pub per_vcpu: u64,
    /// Per MiB of memory of a PROGRAM or INSTANCE.
    pub per_mib_memory: u64,
}

impl Default for Costs {
    /// With a 6-decimal token: 0.001 token per MiB stored, 1 token per
    /// vCPU, 0.001 token per MiB of memory.
    fn default() -> Self {
        Costs {
            per_mib_stored: 1_000,
            per_vcpu: 1_000_000,
            per_mib_memory: 1_000,
        }
    }
}

/// How the node charges.
#[derive(Clone, Debug)]
pub struct ChargingConfig {
    /// JSON-RPC URL of the cluster whose balances count.
    pub rpc_url: String,
    /// The prices.
    pub costs: Costs,
    /// How long content marked for collection waits for the balance to
    /// recover.
    pub grace: Duration,
    /// Time between rounds.
    pub interval: Duration,
}

impl ChargingConfig {
    /// Default prices, a day's grace, a round a minute.
    pub fn new(rpc_url: impl Into<String>) -> Self {
        ChargingConfig {
            rpc_url: rpc_url.into(),
            costs: Costs::default(),
            grace: Duration::from_secs(86_400),
            interval: Duration::from_secs(60),
        }
    }
}

/// Why a price or a balance could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ChargeError {
    /// A cost that does not fit in 64 bits.
    #[error("the cost of {0} overflows")]
    Overflow(String),
    /// The chain did not answer.
    #[error("reading the chain: {0}")]
    Chain(String),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer did not apply the changes.
    #[error("writing: {0}")]
    Writer(#[from] crate::writer::WriteError),
}

fn overflow(what: &str) -> ChargeError {
    ChargeError::Overflow(what.to_owned())
}

fn mib_of(bytes: u64) -> u64 {
    bytes.div_ceil(MIB)
}

/// What `content` costs to hold; `file_size` gives a stored file's size by
/// its hash (a STORE whose file is unknown costs nothing yet).
pub fn cost(
    costs: &Costs,
    content: &Content,
    file_size: &dyn Fn(&str) -> Option<u64>,
) -> Result<u64, ChargeError> {
    let machine = |vcpus: u32, memory_mib: u64, what: &str| {
        u64::from(vcpus)
            .checked_mul(costs.per_vcpu)
            .and_then(|c| c.checked_add(memory_mib.checked_mul(costs.per_mib_memory)?))
            .ok_or_else(|| overflow(what))
    };
    match content {
        Content::Store(store) => mib_of(file_size(&store.item_hash).unwrap_or(0))
            .checked_mul(costs.per_mib_stored)
            .ok_or_else(|| overflow("the stored file")),
        // A VM has at least one vCPU, whatever the message says.
        Content::Program(program) => machine(
            program.resources.vcpus.max(1),
            program.resources.memory,
            "the program",
        ),
        Content::Instance(instance) => machine(
            instance.resources.vcpus.max(1),
            instance.resources.memory,
            "the instance",
        )?
        .checked_add(
            instance
                .rootfs
                .size_mib
                .checked_mul(costs.per_mib_stored)
                .ok_or_else(|| overflow("the instance's root file system"))?,
        )
        .ok_or_else(|| overflow("the instance")),
        _ => Ok(0),
    }
}

/// Whether `content` is of a kind charged for holding: a STORE, PROGRAM or
/// INSTANCE.
fn held_kind(content: &Content) -> bool {
    matches!(
        content,
        Content::Store(_) | Content::Program(_) | Content::Instance(_)
    )
}

/// Whether the content says a stream pays for it.
pub fn stream_declared(content: &Content) -> bool {
    let payment = match content {
        Content::Program(p) => p.payment.as_ref(),
        Content::Instance(i) => i.payment.as_ref(),
        _ => None,
    };
    payment.is_some_and(|p| p.payment_type == PaymentType::Superfluid)
}

/// The size of a file held here, by sha256 or CID.
fn stored_size(conn: &Connection, hash: &str) -> Option<u64> {
    conn.prepare_cached("SELECT size FROM files WHERE sha256 = ?1 OR cid_v0 = ?1 OR cid_v1 = ?1")
        .ok()?
        .query_row([hash], |r| r.get::<_, i64>(0))
        .ok()
        .and_then(|s| u64::try_from(s).ok())
}

/// What open streams pay for: storage streams STOREs, compute streams
/// PROGRAMs and INSTANCEs, each by the message's item hash.
#[derive(Clone, Debug, Default)]
pub struct Paid {
    /// Resources of open storage streams that are not exhausted, with the
    /// most bytes one of them pays for.
    pub storage: HashMap<String, u64>,
    /// Resources of open compute streams that are not exhausted.
    pub compute: HashSet<String>,
}

impl Paid {
    /// Whether a stream of the right kind pays for message `item_hash`. A
    /// STORE is paid for only up to the size its stream states:
    /// `file_size` gives the stored file's (asked only then); a file not
    /// here yet is not covered.
    pub fn covers(
        &self,
        kind: MessageType,
        item_hash: &str,
        file_size: impl FnOnce() -> Option<u64>,
    ) -> bool {
        match kind {
            MessageType::Store => self
                .storage
                .get(item_hash)
                .is_some_and(|paid_for| file_size().is_some_and(|size| size <= *paid_for)),
            MessageType::Program | MessageType::Instance => self.compute.contains(item_hash),
            _ => false,
        }
    }
}

/// The size of the file a STORE message stored here names, if both are here.
fn store_file_size(conn: &Connection, item_hash: &str) -> Option<u64> {
    let content: String = conn
        .prepare_cached("SELECT COALESCE(content, item_content) FROM messages WHERE item_hash = ?1")
        .ok()?
        .query_row([item_hash], |r| r.get(0))
        .ok()?;
    match Content::parse(MessageType::Store, &content).ok()? {
        Content::Store(store) => stored_size(conn, &store.item_hash),
        _ => None,
    }
}

/// Content an address holds here, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Held {
    /// The message.
    pub item_hash: String,
    /// Its cost.
    pub cost: u64,
    /// `Processed` or `Removing`.
    pub status: MessageStatus,
    /// When a `removing` one is collected (unix seconds).
    pub collect_at: Option<f64>,
}

/// Prices of held messages, kept between pricings: what each costs, or
/// `None` when it declares that a stream pays for it. Neither changes, as a
/// message never changes and a file is named by its hash; a STORE whose
/// file is not here yet is priced again until it is. Valid for one
/// [`Costs`]. A price no round has used since the last [`Prices::sweep`]
/// (its message was collected or forgotten, or a stream pays for it now)
/// is dropped by the next.
#[derive(Debug, Default)]
pub struct Prices(std::sync::Mutex<PriceList>);

#[derive(Debug, Default)]
struct PriceList {
    /// Price and the sweep generation that last used it, by item hash.
    prices: HashMap<String, (Option<u64>, u64)>,
    generation: u64,
}

impl Prices {
    fn list(&self) -> std::sync::MutexGuard<'_, PriceList> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, item_hash: &str) -> Option<Option<u64>> {
        let mut list = self.list();
        let generation = list.generation;
        list.prices.get_mut(item_hash).map(|(price, used)| {
            *used = generation;
            *price
        })
    }

    fn keep(&self, item_hash: &str, price: Option<u64>) {
        let mut list = self.list();
        let generation = list.generation;
        list.prices
            .insert(item_hash.to_owned(), (price, generation));
    }

    /// Drops the prices not used since the last sweep.
    pub fn sweep(&self) {
        let mut list = self.list();
        let generation = list.generation;
        list.prices.retain(|_, (_, used)| *used == generation);
        list.generation += 1;
    }

    /// How many prices are kept.
    pub fn len(&self) -> usize {
        self.list().prices.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What one held message costs (`None`: a stream it declares pays), from
/// `prices` or worked out from its content and kept there.
fn price_of(
    conn: &Connection,
    costs: &Costs,
    prices: &Prices,
    item_hash: &str,
    kind: MessageType,
) -> Result<Option<u64>, ChargeError> {
    if let Some(price) = prices.get(item_hash) {
        return Ok(price);
    }
    let content: Option<String> = conn
        .prepare_cached("SELECT COALESCE(content, item_content) FROM messages WHERE item_hash = ?1")
        .map_err(StoreError::from)?
        .query_row([item_hash], |r| r.get(0))
        .map_err(StoreError::from)?;
    // Content not here or not valid costs nothing (it was checked on the
    // way in; this is only defence).
    let Some(Ok(content)) = content.map(|c| Content::parse(kind, &c)) else {
        return Ok(Some(0));
    };
    if stream_declared(&content) {
        prices.keep(item_hash, None);
        return Ok(None);
    }
    let missing_file = std::cell::Cell::new(false);
    let file_size = |hash: &str| {
        let size = stored_size(conn, hash);
        missing_file.set(size.is_none());
        size
    };
    let cost = cost(costs, &content, &file_size)?;
    if !missing_file.get() {
        prices.keep(item_hash, Some(cost));
    }
    Ok(Some(cost))
}

/// What `address` holds here and pays for by holding (what `paid` covers
/// is left out), newest first, priced through `prices`.
pub fn holdings(
    conn: &Connection,
    costs: &Costs,
    prices: &Prices,
    address: &str,
    paid: &Paid,
) -> Result<Vec<Held>, ChargeError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT item_hash, type, status, collect_at FROM messages \
             WHERE address = ?1 AND status IN ('processed', 'removing') \
             AND type IN ('STORE', 'PROGRAM', 'INSTANCE') ORDER BY time DESC, item_hash DESC",
        )
        .map_err(StoreError::from)?;
    let rows = stmt
        .query_map([address], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                crate::store::status_at(r, 2)?,
                r.get::<_, Option<f64>>(3)?,
            ))
        })
        .map_err(StoreError::from)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::from)?;
    let mut out = Vec::new();
    for (item_hash, kind, status, collect_at) in rows {
        let Ok(kind) = MessageType::from_str(&kind) else {
            continue;
        };
        if paid.covers(kind, &item_hash, || store_file_size(conn, &item_hash)) {
            continue;
        }
        let Some(cost) = price_of(conn, costs, prices, &item_hash, kind)? else {
            continue;
        };
        // Marked content that no longer costs anything is kept, so that
        // its mark is lifted.
        if cost > 0 || status == MessageStatus::Removing {
            out.push(Held {
                item_hash,
                cost,
                status,
                collect_at,
            });
        }
    }
    Ok(out)
}

/// The sum of what `held` costs.
fn total(held: &[Held]) -> Result<u64, ChargeError> {
    held.iter()
        .try_fold(0u64, |sum, h| sum.checked_add(h.cost))
        .ok_or_else(|| overflow("what the address holds"))
}

/// What a round decides for one address: marks for its newest content
/// until the rest fits in `balance`, lifted marks for the rest, and
/// collection of marked content whose time has come.
pub fn plan(
    held: &[Held],
    balance: u64,
    now: f64,
    grace: Duration,
) -> Result<Vec<StatusChange>, ChargeError> {
    let mut over = total(held)?.saturating_sub(balance);
    let mut changes = Vec::new();
    for h in held {
        let must_go = over > 0;
        over = over.saturating_sub(h.cost);
        match (must_go, h.status, h.collect_at) {
            (true, MessageStatus::Removing, Some(at)) if at <= now => {
                changes.push(StatusChange::Collect {
                    item_hash: h.item_hash.clone(),
                })
            }
            (true, MessageStatus::Removing, Some(_)) => {}
            (true, _, _) => changes.push(StatusChange::Mark {
                item_hash: h.item_hash.clone(),
                collect_at: now + grace.as_secs_f64(),
                reason: format!(
                    "the owner's balance ({balance}) no longer covers what it holds; collected unless it recovers"
                ),
            }),
            (false, MessageStatus::Removing, _) => changes.push(StatusChange::Restore {
                item_hash: h.item_hash.clone(),
            }),
            (false, _, _) => {}
        }
    }
    Ok(changes)
}

/// What streams paid for, and when that was read.
type ReadAt = (std::time::Instant, Arc<Paid>);

/// How long the streams read for a post are reused by the next posts.
const PAID_FRESH_FOR: Duration = Duration::from_secs(5);

/// The chain as charging sees it: balances and the streams that pay.
#[derive(Clone)]
pub struct Chain {
    client: Arc<AetherClient>,
    /// The streams last read for a post, and when.
    recent: Arc<std::sync::Mutex<Option<ReadAt>>>,
}

impl Chain {
    /// Reads through `rpc_url` (no transaction is ever signed).
    pub fn new(rpc_url: &str) -> Chain {
        Chain {
            client: Arc::new(AetherClient::new(rpc_url, solana_keypair::Keypair::new())),
            recent: Arc::default(),
        }
    }

    /// Base units of the stake token `address` holds; an address that is
    /// not a Solana key holds none.
    pub async fn balance(&self, address: &str) -> Result<u64, ChargeError> {
        let Ok(owner) = Pubkey::from_str(address) else {
            return Ok(0);
        };
        let client = self.client.clone();
        tokio::task::spawn_blocking(move || client.token_balance(&owner))
            .await
            .map_err(|e| ChargeError::Chain(e.to_string()))?
            .map_err(|e| ChargeError::Chain(e.to_string()))
    }

    /// What open streams that are not exhausted pay for, read now.
    pub async fn paid_by_streams(&self) -> Result<Paid, ChargeError> {
        let client = self.client.clone();
        let streams = tokio::task::spawn_blocking(move || client.streams())
            .await
            .map_err(|e| ChargeError::Chain(e.to_string()))?
            .map_err(|e| ChargeError::Chain(e.to_string()))?;
        let mut paid = Paid::default();
        for (_, stream) in streams.into_iter().filter(|(_, s)| !s.exhausted) {
            let resource = hex::encode(stream.resource);
            match stream.kind {
                aether_sdk::programs::escrow::StreamKind::Storage => {
                    let size = paid.storage.entry(resource).or_default();
                    *size = (*size).max(stream.size_bytes);
                }
                aether_sdk::programs::escrow::StreamKind::Compute => {
                    paid.compute.insert(resource);
                }
            }
        }
        Ok(paid)
    }

    /// The same, reused for a few seconds: posts in a burst read the
    /// streams once.
    async fn paid_recently(&self) -> Result<Arc<Paid>, ChargeError> {
        if let Some((at, paid)) = self
            .recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            if at.elapsed() < PAID_FRESH_FOR {
                return Ok(paid);
            }
        }
        let paid = Arc::new(self.paid_by_streams().await?);
        *self.recent.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((std::time::Instant::now(), paid.clone()));
        Ok(paid)
    }
}

/// A refusal: what the balance lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    /// The address charged.
    pub address: String,
    /// What it holds.
    pub balance: u64,
    /// What its content here already costs.
    pub in_use: u64,
    /// What this message costs.
    pub cost: u64,
    /// `in_use + cost - balance`.
    pub short: u64,
}

impl std::fmt::Display for Shortfall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} holds {} base units of the stake token; its content here costs {} and this message {} more: short by {}",
            self.address, self.balance, self.in_use, self.cost, self.short
        )?;
        if Pubkey::from_str(&self.address).is_err() {
            write!(
                f,
                " (only a Solana address holds the stake token: pay for it with a stream)"
            )?;
        }
        Ok(())
    }
}

/// Charging, as the API and the rounds use it.
#[derive(Clone)]
pub struct Charging {
    /// Its settings.
    pub config: ChargingConfig,
    chain: Chain,
    /// One lock per address with a post being checked or written.
    turns: Arc<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// Prices of held messages, at `config.costs`.
    prices: Arc<Prices>,
}

/// An address's turn to post: held from the check until the write is
/// committed.
pub type Turn = tokio::sync::OwnedMutexGuard<()>;

impl Charging {
    /// Charging against the chain at `config.rpc_url`.
    pub fn new(config: ChargingConfig) -> Charging {
        let chain = Chain::new(&config.rpc_url);
        Charging {
            config,
            chain,
            turns: Arc::default(),
            prices: Arc::default(),
        }
    }

    /// Waits for the turn of `content`'s address (`None` for content
    /// with no address or that costs nothing to hold). Hold it across the
    /// check and the write: otherwise two posts could each be checked
    /// against the content held before either.
    pub async fn turn(&self, content: &Content) -> Option<Turn> {
        if !held_kind(content) {
            return None;
        }
        let address = content.address()?;
        let lock = {
            let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
            // Locks no post holds or waits for are dropped as others come.
            turns.retain(|_, lock| Arc::strong_count(lock) > 1);
            turns.entry(address.to_owned()).or_default().clone()
        };
        Some(lock.lock_owned().await)
    }

    /// `Some(shortfall)` when the balance of `content`'s address cannot
    /// hold it on top of what the address holds here already.
    pub async fn check(
        &self,
        readers: &Readers,
        item_hash: &str,
        content: &Content,
    ) -> Result<Option<Shortfall>, ChargeError> {
        let paid = self.chain.paid_recently().await?;
        match self.check_with(readers, item_hash, content, paid).await? {
            None => Ok(None),
            // Streams read a moment ago may miss one opened since: a
            // refusal is decided on fresh ones.
            Some(_) => {
                let fresh = Arc::new(self.chain.paid_by_streams().await?);
                self.check_with(readers, item_hash, content, fresh).await
            }
        }
    }

    async fn check_with(
        &self,
        readers: &Readers,
        item_hash: &str,
        content: &Content,
        paid: Arc<Paid>,
    ) -> Result<Option<Shortfall>, ChargeError> {
        let Some(address) = content.address().map(str::to_owned) else {
            return Ok(None);
        };
        if !held_kind(content) || stream_declared(content) {
            return Ok(None);
        }
        let costs = self.config.costs;
        // A STORE's stream pays up to its stated size: the file's is read
        // only when there is such a stream.
        let file_size = match content {
            Content::Store(store) if paid.storage.contains_key(item_hash) => {
                let file = store.item_hash.clone();
                readers
                    .with(move |conn| Ok(stored_size(conn, &file)))
                    .await?
            }
            _ => None,
        };
        if paid.covers(content.message_type(), item_hash, || file_size) {
            return Ok(None);
        }
        let (known, cost, held) = {
            let (content, address, hash) = (content.clone(), address.clone(), item_hash.to_owned());
            let prices = self.prices.clone();
            readers
                .with(move |conn| {
                    // A message already here is not charged again: the
                    // writer answers with its status.
                    let known: Option<MessageStatus> = conn
                        .query_row(
                            "SELECT status FROM messages WHERE item_hash = ?1",
                            [&hash],
                            |r| crate::store::status_at(r, 0),
                        )
                        .ok();
                    let file_size = |hash: &str| stored_size(conn, hash);
                    let cost = cost(&costs, &content, &file_size);
                    let held = holdings(conn, &costs, &prices, &address, &paid);
                    Ok((known, cost, held))
                })
                .await?
        };
        if known.is_some_and(|status| status != MessageStatus::Pending) {
            return Ok(None);
        }
        let cost = cost?;
        if cost == 0 {
            return Ok(None);
        }
        let in_use = total(&held?)?;
        let needed = in_use
            .checked_add(cost)
            .ok_or_else(|| overflow("what the address would hold"))?;
        let balance = self.chain.balance(&address).await?;
        Ok((balance < needed).then(|| Shortfall {
            address,
            balance,
            in_use,
            cost,
            short: needed - balance,
        }))
    }

    /// One round over every address holding costed content: marks,
    /// restores and collects. Returns the changes applied.
    pub async fn round(
        &self,
        readers: &Readers,
        writer: &Writer,
        now: f64,
    ) -> Result<Vec<StatusChange>, ChargeError> {
        let paid = self.chain.paid_by_streams().await?;
        let costs = self.config.costs;
        let by_address: HashMap<String, Vec<Held>> = {
            let (paid, prices) = (paid.clone(), self.prices.clone());
            readers
                .with(move |conn| {
                    let mut stmt = conn.prepare(
                        "SELECT DISTINCT address FROM messages WHERE address IS NOT NULL \
                         AND status IN ('processed', 'removing') AND type IN ('STORE', 'PROGRAM', 'INSTANCE')",
                    )?;
                    let addresses = stmt
                        .query_map([], |r| r.get::<_, String>(0))?
                        .collect::<Result<Vec<_>, _>>()?;
                    let mut out = HashMap::new();
                    for address in addresses {
                        match holdings(conn, &costs, &prices, &address, &paid) {
                            Ok(held) => {
                                out.insert(address, held);
                            }
                            Err(ChargeError::Store(e)) => return Err(e),
                            Err(e) => tracing::warn!(%address, error = %e, "not charged"),
                        }
                    }
                    Ok(out)
                })
                .await?
        };
        let mut changes = Vec::new();
        for (address, held) in by_address {
            if held.is_empty() {
                continue;
            }
            let balance = self.chain.balance(&address).await?;
            let planned = match plan(&held, balance, now, self.config.grace) {
                Ok(planned) => planned,
                Err(e) => {
                    tracing::warn!(%address, error = %e, "not charged");
                    continue;
                }
            };
            if !planned.is_empty() {
                tracing::info!(%address, balance, changes = planned.len(), "holdings over the balance changed");
            }
            changes.extend(planned);
        }
        // Content a stream now pays for is never left marked.
        let marked_but_paid: Vec<String> = readers
            .with(move |conn| {
                let mut stmt =
                    conn.prepare("SELECT item_hash, type FROM messages WHERE status = 'removing'")?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows
                    .into_iter()
                    .filter(|(hash, kind)| {
                        MessageType::from_str(kind).is_ok_and(|kind| {
                            paid.covers(kind, hash, || store_file_size(conn, hash))
                        })
                    })
                    .map(|(hash, _)| hash)
                    .collect())
            })
            .await?;
        changes.extend(
            marked_but_paid
                .into_iter()
                .map(|item_hash| StatusChange::Restore { item_hash }),
        );
        if !changes.is_empty() {
            writer.statuses(changes.clone()).await?;
        }
        // Every held message was priced above: the rest are no longer held.
        self.prices.sweep();
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(hash: &str, cost: u64, status: MessageStatus, collect_at: Option<f64>) -> Held {
        Held {
            item_hash: hash.into(),
            cost,
            status,
            collect_at,
        }
    }

    #[test]
    fn the_newest_go_first_until_the_rest_fits_and_marks_lift_when_it_does() {
        let grace = Duration::from_secs(10);
        // Newest first: c, b, a; 30 in use.
        let list = vec![
            held("c", 10, MessageStatus::Processed, None),
            held("b", 10, MessageStatus::Processed, None),
            held("a", 10, MessageStatus::Processed, None),
        ];
        assert!(plan(&list, 30, 100.0, grace).unwrap().is_empty());
        let changes = plan(&list, 15, 100.0, grace).unwrap();
        let marked: Vec<&str> = changes
            .iter()
            .map(|c| match c {
                StatusChange::Mark {
                    item_hash,
                    collect_at,
                    ..
                } => {
                    assert_eq!(*collect_at, 110.0);
                    item_hash.as_str()
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(marked, ["c", "b"], "15 short: the two newest");
        // Marked, grace not over, balance the same: nothing new.
        let list = vec![
            held("c", 10, MessageStatus::Removing, Some(110.0)),
            held("b", 10, MessageStatus::Removing, Some(110.0)),
            held("a", 10, MessageStatus::Processed, None),
        ];
        assert!(plan(&list, 15, 105.0, grace).unwrap().is_empty());
        // The balance recovered partly: b is lifted; later c is collected.
        let changes = plan(&list, 20, 111.0, grace).unwrap();
        assert_eq!(
            changes,
            vec![
                StatusChange::Collect {
                    item_hash: "c".into()
                },
                StatusChange::Restore {
                    item_hash: "b".into()
                },
            ]
        );
    }

    #[test]
    fn prices_are_kept_once_known_and_a_store_waits_for_its_file() {
        use aether_sdk::message::{MessageBuilder, StoreBuilder};
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("node.sqlite")).unwrap();
        let account = aether_sdk::message::sign::SolanaAccount::generate();
        let address = aether_sdk::message::sign::Signer::address(&account);
        let file = "f".repeat(64);
        let store = MessageBuilder::new(&account)
            .build(StoreBuilder::new(file.clone()).unwrap())
            .unwrap()
            .message;
        conn.execute(
            "INSERT INTO messages (item_hash, chain, sender, type, time, item_type, item_content, \
             address, status, reception_time) VALUES (?1, 'SOL', ?2, 'STORE', ?3, 'inline', ?4, ?2, 'processed', ?3)",
            rusqlite::params![store.item_hash, address, store.time, store.item_content],
        )
        .unwrap();
        let costs = Costs {
            per_mib_stored: 5,
            ..Costs::default()
        };
        let prices = Prices::default();
        let held = |prices: &Prices| {
            holdings(&conn, &costs, prices, &address, &Paid::default())
                .unwrap()
                .iter()
                .map(|h| h.cost)
                .collect::<Vec<_>>()
        };
        // Its file is not here yet: free for now, and priced again later.
        assert!(held(&prices).is_empty());
        assert!(prices.is_empty());
        conn.execute(
            "INSERT INTO files (sha256, cid_v0, cid_v1, size, created) VALUES (?1, 'a', 'b', ?2, 0)",
            rusqlite::params![file, 3 * MIB as i64],
        )
        .unwrap();
        assert_eq!(held(&prices), [15]);
        assert_eq!(prices.len(), 1);
        // Kept: the price no longer reads the file.
        conn.execute("DELETE FROM files", []).unwrap();
        assert_eq!(held(&prices), [15]);
        conn.execute(
            "INSERT INTO files (sha256, cid_v0, cid_v1, size, created) VALUES (?1, 'a', 'b', ?2, 0)",
            rusqlite::params![file, 3 * MIB as i64],
        )
        .unwrap();
        // A stream for fewer bytes than the file does not pay for it.
        let small = Paid {
            storage: [(store.item_hash.clone(), 3 * MIB - 1)].into(),
            ..Paid::default()
        };
        assert_eq!(
            holdings(&conn, &costs, &prices, &address, &small)
                .unwrap()
                .len(),
            1
        );
        // A stream for the whole file pays for it now: left out, whatever is kept.
        let paid = Paid {
            storage: [(store.item_hash.clone(), 3 * MIB)].into(),
            ..Paid::default()
        };
        assert!(holdings(&conn, &costs, &prices, &address, &paid)
            .unwrap()
            .is_empty());
        // A sweep keeps what was used since the last one, then what is used
        // again: here nothing, as the stream pays.
        prices.sweep();
        assert_eq!(prices.len(), 1);
        assert!(holdings(&conn, &costs, &prices, &address, &paid)
            .unwrap()
            .is_empty());
        prices.sweep();
        assert!(prices.is_empty());
    }

    #[test]
    fn a_shortfall_names_the_numbers_and_tells_an_ethereum_sender_to_use_a_stream() {
        let shortfall = |address: &str| Shortfall {
            address: address.into(),
            balance: 5,
            in_use: 4,
            cost: 3,
            short: 2,
        };
        let solana = shortfall(&Pubkey::new_unique().to_string()).to_string();
        assert!(
            solana.ends_with("costs 4 and this message 3 more: short by 2"),
            "{solana}"
        );
        let ethereum = shortfall("0x52908400098527886E0F7030069857D2E4169EE7").to_string();
        assert!(ethereum.contains("short by 2"), "{ethereum}");
        assert!(
            ethereum.ends_with("pay for it with a stream)"),
            "{ethereum}"
        );
    }

    #[test]
    fn costs_count_mib_whole_and_refuse_overflow() {
        use aether_sdk::message::{InstanceBuilder, MessageBuilder, StoreBuilder};
        let costs = Costs {
            per_mib_stored: 7,
            per_vcpu: 100,
            per_mib_memory: 2,
        };
        let account = aether_sdk::message::sign::SolanaAccount::from_bytes(
            &solana_keypair::Keypair::new().to_bytes(),
        )
        .unwrap();
        let store = MessageBuilder::new(&account)
            .build(StoreBuilder::new("a".repeat(64)).unwrap())
            .unwrap();
        let content = store.message.content().unwrap();
        assert_eq!(cost(&costs, &content, &|_| Some(MIB + 1)).unwrap(), 14);
        assert_eq!(cost(&costs, &content, &|_| None).unwrap(), 0);
        let instance = MessageBuilder::new(&account)
            .build(
                InstanceBuilder::new("b".repeat(64), 50)
                    .vcpus(2)
                    .memory_mib(128),
            )
            .unwrap();
        let content = instance.message.content().unwrap();
        assert_eq!(cost(&costs, &content, &|_| None).unwrap(), 200 + 256 + 350);
        let huge = Costs {
            per_mib_stored: u64::MAX,
            ..costs
        };
        assert!(matches!(
            cost(&huge, &content, &|_| None),
            Err(ChargeError::Overflow(_))
        ));
    }
}
