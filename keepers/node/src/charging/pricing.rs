//! Pricing: what content costs to hold, and what an address holds here.

use std::collections::HashMap;
use std::str::FromStr;

use aether_sdk::message::{Content, MessageType, PaymentType};
use aether_sdk::node_client::MessageStatus;
use rusqlite::Connection;

use super::reads::{store_file_size, stored_size};
use super::{overflow, ChargeError, Costs, Paid, MIB};
use crate::store::StoreError;

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
pub(super) fn held_kind(content: &Content) -> bool {
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
pub(super) fn total(held: &[Held]) -> Result<u64, ChargeError> {
    held.iter()
        .try_fold(0u64, |sum, h| sum.checked_add(h.cost))
        .ok_or_else(|| overflow("what the address holds"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
