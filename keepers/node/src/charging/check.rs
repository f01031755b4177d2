//! The check of a post: whether its address's balance can hold it on top
//! of what the address holds here already, and the refusal if not.

use std::str::FromStr;
use std::sync::Arc;

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::message::Content;
use aether_sdk::node_client::MessageStatus;

use super::pricing::{held_kind, total};
use super::reads::stored_size;
use super::{cost, holdings, overflow, stream_declared, ChargeError, Charging, Paid};
use crate::store::Readers;

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

impl Charging {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
