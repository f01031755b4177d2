//! The rounds: what each decides for an address, and one round over every
//! address holding costed content.

use std::collections::HashMap;
use std::time::Duration;

use aether_sdk::node_client::MessageStatus;

use super::pricing::total;
use super::reads::{read_holdings_by_address, read_marked_but_paid};
use super::{ChargeError, Charging, Held};
use crate::store::Readers;
use crate::writer::{StatusChange, Writer};

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

impl Charging {
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
                .with(move |conn| read_holdings_by_address(conn, &costs, &prices, &paid))
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
            .with(move |conn| read_marked_but_paid(conn, &paid))
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
}
