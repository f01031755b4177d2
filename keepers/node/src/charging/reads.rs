//! The SQL reads charging shares: sizes of files held here, the addresses
//! holding costed content, and marked content a stream pays for now.

use std::collections::HashMap;
use std::str::FromStr;

use aether_sdk::message::{Content, MessageType};
use rusqlite::Connection;

use super::{holdings, ChargeError, Costs, Held, Paid, Prices};
use crate::store::StoreError;

/// The size of a file held here, by sha256 or CID.
pub(super) fn stored_size(conn: &Connection, hash: &str) -> Option<u64> {
    conn.prepare_cached("SELECT size FROM files WHERE sha256 = ?1 OR cid_v0 = ?1 OR cid_v1 = ?1")
        .ok()?
        .query_row([hash], |r| r.get::<_, i64>(0))
        .ok()
        .and_then(|s| u64::try_from(s).ok())
}

/// The size of the file a STORE message stored here names, if both are here.
pub(super) fn store_file_size(conn: &Connection, item_hash: &str) -> Option<u64> {
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

/// What every address holding costed content holds, by address (for a
/// round); an address that cannot be priced is left out with a warning.
pub(super) fn read_holdings_by_address(
    conn: &Connection,
    costs: &Costs,
    prices: &Prices,
    paid: &Paid,
) -> Result<HashMap<String, Vec<Held>>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT address FROM messages WHERE address IS NOT NULL \
         AND status IN ('processed', 'removing') AND type IN ('STORE', 'PROGRAM', 'INSTANCE')",
    )?;
    let addresses = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = HashMap::new();
    for address in addresses {
        match holdings(conn, costs, prices, &address, paid) {
            Ok(held) => {
                out.insert(address, held);
            }
            Err(ChargeError::Store(e)) => return Err(e),
            Err(e) => tracing::warn!(%address, error = %e, "not charged"),
        }
    }
    Ok(out)
}

/// Content marked `removing` that a stream of `paid` pays for now.
pub(super) fn read_marked_but_paid(
    conn: &Connection,
    paid: &Paid,
) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT item_hash, type FROM messages WHERE status = 'removing'")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter(|(hash, kind)| {
            MessageType::from_str(kind)
                .is_ok_and(|kind| paid.covers(kind, hash, || store_file_size(conn, hash)))
        })
        .map(|(hash, _)| hash)
        .collect())
}
