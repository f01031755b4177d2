//! What each event changes in the derived tables, one helper per kind.

use aether_sdk::anchors_program::events as anchors;
use aether_sdk::escrow_program::events as escrow;
use aether_sdk::events::Event;
use aether_sdk::registry_program::events as registry;
use aether_sdk::staking_program::events as staking;
use rusqlite::{params, OptionalExtension, Transaction};

use super::{sql_amount, Scanned};

/// The effect of one event on the derived tables.
pub(super) fn apply(tx: &Transaction<'_>, at: &Scanned, event: &Event) -> rusqlite::Result<()> {
    match event {
        Event::NodeCreated(e) => node_created(tx, e),
        Event::NodeStatusChanged(e) => node_status_changed(tx, e),
        Event::Staked(e) => node_total_stake(tx, e.node.to_string(), e.node_total_stake),
        Event::UnstakeRequested(e) => node_total_stake(tx, e.node.to_string(), e.node_total_stake),
        Event::NodeClosed(e) => node_closed(tx, e),
        Event::EpochCranked(e) => epoch_cranked(tx, e),
        Event::CoreNodeRegistered(e) => core_node_registered(tx, at, e),
        Event::ResourceNodeRegistered(e) => resource_node_registered(tx, at, e),
        Event::NodeUpdated(e) => node_updated(tx, e),
        Event::NodeDeregistered(e) => node_deregistered(tx, e),
        Event::ScoreReported(e) => score_reported(tx, e),
        Event::ScoreUpdated(e) => score_updated(tx, e),
        Event::StreamOpened(e) => stream_opened(tx, e),
        Event::StreamToppedUp(e) => stream_topped_up(tx, e),
        Event::ProviderJoined(e) => provider_joined(tx, e),
        Event::ProviderLeft(e) => provider_left(tx, e),
        Event::StreamSettled(e) => stream_settled(tx, e),
        Event::StreamExhausted(e) => stream_exhausted(tx, e),
        Event::StreamClosed(e) => stream_closed(tx, e),
        Event::DomainRequested(e) => domain_requested(tx, at, e),
        Event::DomainAttested(e) => domain_attested(tx, e),
        Event::DomainStatusChanged(e) => domain_status_changed(tx, e),
        Event::BatchAnchored(e) => batch_anchored(tx, at, e),
        _ => Ok(()),
    }
}

// Staking: the staking nodes and the epoch.

fn node_created(tx: &Transaction<'_>, e: &staking::NodeCreated) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO staking_nodes (node, operator, total_stake, status, activation_epoch)
         VALUES (?1, ?2, ?3, 'Inactive', 0)",
        params![e.node.to_string(), e.operator.to_string(), sql_amount(e.stake)],
    )?;
    Ok(())
}

fn node_status_changed(
    tx: &Transaction<'_>,
    e: &staking::NodeStatusChanged,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE staking_nodes SET status = ?2, activation_epoch = ?3, total_stake = ?4 WHERE node = ?1",
        params![
            e.node.to_string(),
            format!("{:?}", e.status),
            e.activation_epoch as i64,
            sql_amount(e.total_stake)
        ],
    )?;
    Ok(())
}

/// A stake or an unstake request: the node's new total.
fn node_total_stake(tx: &Transaction<'_>, node: String, total: u64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE staking_nodes SET total_stake = ?2 WHERE node = ?1",
        params![node, sql_amount(total)],
    )?;
    Ok(())
}

fn node_closed(tx: &Transaction<'_>, e: &staking::NodeClosed) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE staking_nodes SET status = 'Closed', total_stake = ?2 WHERE node = ?1",
        params![e.node.to_string(), sql_amount(e.total_stake)],
    )?;
    Ok(())
}

fn epoch_cranked(tx: &Transaction<'_>, e: &staking::EpochCranked) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ('epoch', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [e.epoch as i64 + 1],
    )?;
    Ok(())
}

// Registry: node records and their scores.

fn core_node_registered(
    tx: &Transaction<'_>,
    at: &Scanned,
    e: &registry::CoreNodeRegistered,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO nodes (record, kind, owner, identity, parent, staking_node,
             endpoint, p2p_address, vcpus, memory_mib, disk_gib,
             min_price_compute_per_second, min_price_storage_per_gb_month, registered_slot)
         VALUES (?1, 'Core', ?2, ?3, NULL, ?3, ?4, ?5, 0, 0, 0, 0, 0, ?6)",
        params![
            e.record.to_string(),
            e.operator.to_string(),
            e.staking_node.to_string(),
            e.endpoint,
            e.p2p_address,
            at.slot as i64
        ],
    )?;
    Ok(())
}

fn resource_node_registered(
    tx: &Transaction<'_>,
    at: &Scanned,
    e: &registry::ResourceNodeRegistered,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO nodes (record, kind, owner, identity, parent, staking_node,
             endpoint, p2p_address, vcpus, memory_mib, disk_gib,
             min_price_compute_per_second, min_price_storage_per_gb_month, registered_slot)
         VALUES (?1, 'Resource', ?2, ?3, ?4, NULL, ?5, '', ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            e.record.to_string(),
            e.owner.to_string(),
            e.node_id.to_string(),
            e.parent.to_string(),
            e.endpoint,
            e.capacity.vcpus,
            e.capacity.memory_mib,
            e.capacity.disk_gib,
            sql_amount(e.min_price_compute_per_second),
            sql_amount(e.min_price_storage_per_gb_month),
            at.slot as i64
        ],
    )?;
    Ok(())
}

fn node_updated(tx: &Transaction<'_>, e: &registry::NodeUpdated) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE nodes SET endpoint = ?2, p2p_address = ?3, vcpus = ?4, memory_mib = ?5,
             disk_gib = ?6, min_price_compute_per_second = ?7,
             min_price_storage_per_gb_month = ?8
         WHERE record = ?1",
        params![
            e.record.to_string(),
            e.endpoint,
            e.p2p_address,
            e.capacity.vcpus,
            e.capacity.memory_mib,
            e.capacity.disk_gib,
            sql_amount(e.min_price_compute_per_second),
            sql_amount(e.min_price_storage_per_gb_month)
        ],
    )?;
    Ok(())
}

fn node_deregistered(tx: &Transaction<'_>, e: &registry::NodeDeregistered) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM nodes WHERE record = ?1",
        [e.record.to_string()],
    )?;
    Ok(())
}

fn score_reported(tx: &Transaction<'_>, e: &registry::ScoreReported) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO score_reports (record, reporter, epoch, score) VALUES (?1, ?2, ?3, ?4)",
        params![e.record.to_string(), e.reporter.to_string(), e.epoch as i64, e.score],
    )?;
    Ok(())
}

fn score_updated(tx: &Transaction<'_>, e: &registry::ScoreUpdated) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE nodes SET score = ?2, score_epoch = ?3 WHERE record = ?1",
        params![e.record.to_string(), e.score, e.epoch as i64],
    )?;
    Ok(())
}

// Escrow: streams and their providers.

fn stream_opened(tx: &Transaction<'_>, e: &escrow::StreamOpened) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO streams (stream, owner, resource, kind, max_rate_per_second,
             replicas, deposited, last_settled, opened_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            e.stream.to_string(),
            e.owner.to_string(),
            hex::encode(e.resource),
            format!("{:?}", e.kind),
            sql_amount(e.max_rate_per_second),
            e.replicas,
            sql_amount(e.deposit),
            e.opened_at
        ],
    )?;
    tx.execute(
        "DELETE FROM stream_providers WHERE stream = ?1",
        [e.stream.to_string()],
    )?;
    Ok(())
}

fn stream_topped_up(tx: &Transaction<'_>, e: &escrow::StreamToppedUp) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE streams SET deposited = deposited + ?2 WHERE stream = ?1",
        params![e.stream.to_string(), sql_amount(e.amount)],
    )?;
    Ok(())
}

fn provider_joined(tx: &Transaction<'_>, e: &escrow::ProviderJoined) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO stream_providers (stream, position, provider, paid)
         VALUES (?1, (SELECT COUNT(*) FROM stream_providers WHERE stream = ?1), ?2, 0)",
        params![e.stream.to_string(), e.provider.to_string()],
    )?;
    Ok(())
}

fn provider_left(tx: &Transaction<'_>, e: &escrow::ProviderLeft) -> rusqlite::Result<()> {
    let stream = e.stream.to_string();
    let at: Option<i64> = tx
        .query_row(
            "SELECT position FROM stream_providers WHERE stream = ?1 AND provider = ?2",
            params![stream, e.provider.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(at) = at {
        tx.execute(
            "DELETE FROM stream_providers WHERE stream = ?1 AND position = ?2",
            params![stream, at],
        )?;
        // The program keeps slot order: later slots move down one.
        // Two steps through negative positions keep the key unique.
        tx.execute(
            "UPDATE stream_providers SET position = -position WHERE stream = ?1 AND position > ?2",
            params![stream, at],
        )?;
        tx.execute(
            "UPDATE stream_providers SET position = -position - 1 WHERE stream = ?1 AND position < 0",
            [&stream],
        )?;
    }
    Ok(())
}

fn stream_settled(tx: &Transaction<'_>, e: &escrow::StreamSettled) -> rusqlite::Result<()> {
    let stream = e.stream.to_string();
    let mut total: u64 = 0;
    for (position, paid) in e.paid.iter().enumerate() {
        total = total.saturating_add(*paid);
        tx.execute(
            "UPDATE stream_providers SET paid = paid + ?3 WHERE stream = ?1 AND position = ?2",
            params![stream, position as i64, sql_amount(*paid)],
        )?;
    }
    tx.execute(
        "UPDATE streams SET paid_out = paid_out + ?2, last_settled = ?3 WHERE stream = ?1",
        params![stream, sql_amount(total), e.settled_until],
    )?;
    Ok(())
}

fn stream_exhausted(tx: &Transaction<'_>, e: &escrow::StreamExhausted) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE streams SET exhausted = 1 WHERE stream = ?1",
        [e.stream.to_string()],
    )?;
    Ok(())
}

fn stream_closed(tx: &Transaction<'_>, e: &escrow::StreamClosed) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE streams SET closed = 1, refund = ?2 WHERE stream = ?1",
        params![e.stream.to_string(), sql_amount(e.refund)],
    )?;
    Ok(())
}

// Registry: domain bindings.

fn domain_requested(
    tx: &Transaction<'_>,
    at: &Scanned,
    e: &registry::DomainRequested,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO domains (binding, domain, target, owner, status, requested_slot)
         VALUES (?1, ?2, ?3, ?4, 'Pending', ?5)",
        params![
            e.binding.to_string(),
            e.domain,
            hex::encode(e.target),
            e.owner.to_string(),
            at.slot as i64
        ],
    )?;
    Ok(())
}

fn domain_attested(tx: &Transaction<'_>, e: &registry::DomainAttested) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE domains SET approvals = ?2, rejections = ?3 WHERE binding = ?1",
        params![e.binding.to_string(), e.approvals, e.rejections],
    )?;
    Ok(())
}

fn domain_status_changed(
    tx: &Transaction<'_>,
    e: &registry::DomainStatusChanged,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE domains SET status = ?2 WHERE binding = ?1",
        params![e.binding.to_string(), format!("{:?}", e.status)],
    )?;
    Ok(())
}

// Anchors: anchored batches.

fn batch_anchored(
    tx: &Transaction<'_>,
    at: &Scanned,
    e: &anchors::BatchAnchored,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO batches (seq, root, count, content_id, submitter, signature, slot)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            e.seq as i64,
            hex::encode(e.root),
            e.count,
            String::from_utf8_lossy(&e.content_id),
            e.submitter.to_string(),
            at.signature,
            at.slot as i64
        ],
    )?;
    Ok(())
}
