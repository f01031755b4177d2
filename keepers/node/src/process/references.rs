//! What a message refers to: the post an amend amends, a STORE's file, a
//! machine's volumes, a FORGET's targets. Each decides whether the message
//! is processed now, waits, or is refused.

use aether_sdk::message::{
    ForgetContent, InstanceContent, MachineVolume, MessageType, PostContent, ProgramContent,
    StoreContent,
};
use rusqlite::{OptionalExtension, Transaction};

use super::{codes, rejected, Outcome};
use crate::store::{self, Cached, StoreError};

/// An amend names, by its item hash, an original post of `address`.
pub(super) fn amend(
    tx: &Transaction<'_>,
    post: &PostContent,
    address: &str,
) -> Result<Outcome, StoreError> {
    let target = match &post.reference {
        Some(aether_sdk::message::PostRef::Hash(h)) => h.clone(),
        _ => {
            return Ok(rejected(
                codes::BAD_REFERENCE,
                "an amend refers to a post by its item hash",
            ))
        }
    };
    let original: Option<(String, i64)> = tx
        .row(
            "SELECT address, is_amend FROM posts WHERE item_hash = ?1",
            [&target],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match original {
        None => rejected(
            codes::BAD_REFERENCE,
            format!("content.ref: no post {target} to amend"),
        ),
        Some((_, 1)) => rejected(
            codes::BAD_REFERENCE,
            "content.ref: an amend amends the original post, not another amend",
        ),
        Some((owner, _)) if owner != address => rejected(
            codes::PERMISSION,
            format!("content.ref: post {target} belongs to {owner}"),
        ),
        Some(_) => Outcome::Processed,
    })
}

/// A STORE waits until its file is here.
pub(super) fn store_file(
    tx: &Transaction<'_>,
    store_content: &StoreContent,
) -> Result<Outcome, StoreError> {
    Ok(match store::find_file(tx, &store_content.item_hash)? {
        Some(_) => Outcome::Processed,
        None => Outcome::Pending(format!("file {} is not here yet", store_content.item_hash)),
    })
}

/// A PROGRAM's code, runtime, data and volumes are all here.
pub(super) fn program_volumes(
    tx: &Transaction<'_>,
    program: &ProgramContent,
) -> Result<Outcome, StoreError> {
    let mut refs = vec![
        ("content.code.ref", program.code.reference.clone()),
        ("content.runtime.ref", program.runtime.reference.clone()),
    ];
    if let Some(data) = &program.data {
        refs.push(("content.data.ref", data.reference.clone()));
    }
    refs.extend(immutable_refs(&program.volumes));
    Ok(missing_volume(tx, &refs)?.unwrap_or(Outcome::Processed))
}

/// An INSTANCE's root file system and volumes are all here.
pub(super) fn instance_volumes(
    tx: &Transaction<'_>,
    instance: &InstanceContent,
) -> Result<Outcome, StoreError> {
    let mut refs = vec![(
        "content.rootfs.parent.ref",
        instance.rootfs.parent.reference.clone(),
    )];
    refs.extend(immutable_refs(&instance.volumes));
    Ok(missing_volume(tx, &refs)?.unwrap_or(Outcome::Processed))
}

/// Every target of a FORGET exists, is not a FORGET, and is `address`'s.
pub(super) fn forget_targets(
    tx: &Transaction<'_>,
    forget: &ForgetContent,
    address: &str,
) -> Result<Outcome, StoreError> {
    for (field, target) in forget
        .hashes
        .iter()
        .map(|h| ("content.hashes", h))
        .chain(forget.aggregates.iter().map(|h| ("content.aggregates", h)))
    {
        let row: Option<(String, Option<String>, String)> = tx
            .row(
                "SELECT type, address, status FROM messages WHERE item_hash = ?1",
                [target],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match row {
            None => {
                return Ok(rejected(
                    codes::BAD_REFERENCE,
                    format!("{field}: no message {target}"),
                ))
            }
            Some((t, ..)) if t == MessageType::Forget.as_str() => {
                return Ok(rejected(
                    codes::BAD_REFERENCE,
                    format!("{field}: a FORGET cannot be forgotten"),
                ))
            }
            Some((_, owner, _)) if owner.as_deref() != Some(address) => {
                return Ok(rejected(
                    codes::PERMISSION,
                    format!("{field}: {target} belongs to {}", owner.unwrap_or_default()),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(Outcome::Processed)
}

fn immutable_refs(volumes: &[MachineVolume]) -> Vec<(&'static str, String)> {
    volumes
        .iter()
        .filter_map(|v| match v {
            MachineVolume::Immutable(v) => Some(("content.volumes.ref", v.reference.clone())),
            MachineVolume::Persistent(p) => p
                .parent
                .as_ref()
                .map(|p| ("content.volumes.parent.ref", p.reference.clone())),
            MachineVolume::Ephemeral(_) => None,
        })
        .collect()
}

/// The first volume that is neither a processed STORE nor a file held here.
fn missing_volume(
    tx: &Transaction<'_>,
    refs: &[(&str, String)],
) -> Result<Option<Outcome>, StoreError> {
    for (field, reference) in refs {
        let stored: bool = tx.row(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE item_hash = ?1 AND type = 'STORE' AND status = 'processed')",
            [reference],
            |r| r.get(0),
        )?;
        if !stored && store::find_file(tx, reference)?.is_none() {
            return Ok(Some(rejected(
                codes::MISSING_CONTENT,
                format!("{field}: {reference} is neither a STORE message nor a file on this node"),
            )));
        }
    }
    Ok(None)
}
