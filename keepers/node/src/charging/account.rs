//! What the API shows of an address and a content: the tokens held, what
//! the address's content here locks, and what a content would cost.

use aether_sdk::message::Content;

use super::pricing::{cost, holdings, total};
use super::reads::stored_size;
use super::{ChargeError, Charging};
use crate::store::Readers;

impl Charging {
    /// Base units of the stake token `address` holds.
    pub async fn balance(&self, address: &str) -> Result<u64, ChargeError> {
        self.chain.balance(address).await
    }

    /// What `address`'s content here costs to hold, in base units (what
    /// open streams pay for left out).
    pub async fn locked(&self, readers: &Readers, address: &str) -> Result<u64, ChargeError> {
        let paid = self.chain.paid_recently().await?;
        let (costs, prices, who) = (self.config.costs, self.prices.clone(), address.to_owned());
        readers
            .with(move |conn| Ok(holdings(conn, &costs, &prices, &who, &paid)))
            .await?
            .and_then(|held| total(&held))
    }

    /// What `content` costs to hold at this node's prices, in base units;
    /// a STORE's file is sized here, or by `size_mib` when given (an
    /// estimate before upload).
    pub async fn price(
        &self,
        readers: &Readers,
        content: Content,
        size_mib: Option<u64>,
    ) -> Result<u64, ChargeError> {
        let costs = self.config.costs;
        if let (Content::Store(_), Some(mib)) = (&content, size_mib) {
            return mib
                .checked_mul(costs.per_mib_stored)
                .ok_or_else(|| super::overflow("the estimated size"));
        }
        readers
            .with(move |conn| Ok(cost(&costs, &content, &|hash| stored_size(conn, hash))))
            .await?
    }
}
