//! The programs' events, read back from confirmed transactions.
//!
//! Every state change of the four programs emits an Anchor event through a
//! self-CPI (`emit_cpi!`), so an event is an inner instruction of the
//! program itself whose data starts with Anchor's event tag. Only the
//! program can sign that inner instruction (with its event-authority PDA),
//! so an event found there was emitted by the program.
//!
//! ```
//! use aether_sdk::events::Event;
//! use aether_sdk::escrow_program::events::StreamToppedUp;
//! use anchor_lang::{prelude::Pubkey, Discriminator, AnchorSerialize};
//!
//! let event = StreamToppedUp { stream: Pubkey::new_unique(), amount: 5, balance: 9 };
//! let mut data = StreamToppedUp::DISCRIMINATOR.to_vec();
//! event.serialize(&mut data).unwrap();
//! let decoded = Event::decode(&aether_sdk::escrow_program::ID, &data).unwrap();
//! assert_eq!(decoded.name(), "StreamToppedUp");
//! assert_eq!(decoded.to_json()["amount"], 5);
//! ```

use anchor_lang::event::EVENT_IX_TAG_LE;
use anchor_lang::prelude::Pubkey;
use anchor_lang::{AnchorDeserialize, Discriminator};
use serde_json::{json, Value};
use solana_transaction_status_client_types::option_serializer::OptionSerializer;
use solana_transaction_status_client_types::{
    EncodedConfirmedTransactionWithStatusMeta, EncodedTransaction, UiInstruction, UiMessage,
};

use crate::{anchors_program, escrow_program, registry_program, staking_program};

/// The four programs whose events this module reads.
pub fn program_ids() -> [Pubkey; 4] {
    [
        staking_program::ID,
        registry_program::ID,
        escrow_program::ID,
        anchors_program::ID,
    ]
}

/// The short name of one of [`program_ids`], or `None`.
pub fn program_name(id: &Pubkey) -> Option<&'static str> {
    const NAMES: [&str; 4] = ["staking", "registry", "escrow", "anchors"];
    program_ids().iter().position(|p| p == id).map(|i| NAMES[i])
}

/// A value written into an event's JSON form: keys in base58, byte arrays
/// in hex, enums by variant name.
trait ToJson {
    fn to_json(&self) -> Value;
}

macro_rules! to_json_as_is {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn to_json(&self) -> Value {
                json!(self)
            }
        }
    )*};
}
to_json_as_is!(u8, u16, u32, u64, i64, bool, String);

impl ToJson for Pubkey {
    fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl ToJson for [u8; 32] {
    fn to_json(&self) -> Value {
        Value::String(hex::encode(self))
    }
}

macro_rules! to_json_list {
    ($($t:ty),*) => {$(
        impl ToJson for Vec<$t> {
            fn to_json(&self) -> Value {
                Value::Array(self.iter().map(ToJson::to_json).collect())
            }
        }
    )*};
}
to_json_list!(u64, Pubkey);

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToJson::to_json)
    }
}

macro_rules! to_json_by_debug {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn to_json(&self) -> Value {
                Value::String(format!("{self:?}"))
            }
        }
    )*};
}
to_json_by_debug!(
    staking_program::state::NodeStatus,
    registry_program::state::NodeKind,
    registry_program::state::DomainStatus,
    escrow_program::state::StreamKind,
    escrow_program::state::ServePolicy
);

macro_rules! to_json_struct {
    ($($t:ty { $($field:ident),* })*) => {$(
        impl ToJson for $t {
            fn to_json(&self) -> Value {
                json!({ $(stringify!($field): self.$field.to_json()),* })
            }
        }
    )*};
}
to_json_struct! {
    staking_program::state::Params {
        min_operator_stake, activation_threshold, epoch_length, operator_envelope,
        staker_envelope_base, staker_envelope_per_node, unstake_cooldown
    }
    registry_program::state::Capacity { vcpus, memory_mib, disk_gib }
}

/// `content_id` of a batch is the UTF-8 CID or hash of its file.
impl ToJson for Vec<u8> {
    fn to_json(&self) -> Value {
        match std::str::from_utf8(self) {
            Ok(s) => Value::String(s.to_owned()),
            Err(_) => Value::String(hex::encode(self)),
        }
    }
}

macro_rules! events {
    ($($program:ident :: $name:ident { $($field:ident),* $(,)? })*) => {
        /// One event of one of the four programs, decoded.
        #[allow(missing_docs)]
        pub enum Event {
            $($name($program::events::$name),)*
        }

        impl Event {
            /// Decodes an event's data (discriminator and body, without the
            /// event tag) emitted by `program`. `None` when it is not one
            /// of the programs' events or does not parse.
            pub fn decode(program: &Pubkey, data: &[u8]) -> Option<Event> {
                $(
                    if *program == $program::ID {
                        if let Some(mut body) = data.strip_prefix($program::events::$name::DISCRIMINATOR) {
                            return $program::events::$name::deserialize(&mut body).ok().map(Event::$name);
                        }
                    }
                )*
                None
            }

            /// The event's type name, e.g. `StreamSettled`.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Event::$name(_) => stringify!($name),)*
                }
            }

            /// The program that emitted it.
            pub fn program(&self) -> Pubkey {
                match self {
                    $(Event::$name(_) => $program::ID,)*
                }
            }

            /// The event's fields as a JSON object: keys in base58, byte
            /// arrays in hex, enums by variant name, amounts as numbers.
            pub fn to_json(&self) -> Value {
                match self {
                    $(Event::$name(e) => json!({ $(stringify!($field): e.$field.to_json()),* }),)*
                }
            }
        }
    };
}

events! {
    staking_program::Initialized { authority, stake_mint, params, epoch_started_at }
    staking_program::ConfigUpdated { authority, pending_params, pending_authority }
    staking_program::StakingAuthorityAccepted { previous, authority }
    staking_program::RewardsFunded { funder, amount, donated, total_funded }
    staking_program::NodeCreated { node, operator, stake }
    staking_program::NodeStatusChanged { node, status, activation_epoch, total_stake }
    staking_program::Staked { node, staker, amount, position_amount, node_total_stake, earning_from_epoch }
    staking_program::UnstakeRequested { node, staker, amount, available_at, node_total_stake }
    staking_program::Withdrawn { node, staker, amount }
    staking_program::EpochCranked {
        epoch, closed_at, active_nodes, active_stake, operator_booked, staker_booked,
        next_epoch_active_nodes
    }
    staking_program::RewardsClaimed { node, claimer, operator_amount, staker_amount, still_owed }
    staking_program::NodeClosed { node, operator, total_stake }
    registry_program::RegistryInitialized { authority, quorum_bps }
    registry_program::RegistryConfigUpdated { authority, quorum_bps, pending_authority }
    registry_program::RegistryAuthorityAccepted { previous, authority }
    registry_program::CoreNodeRegistered { record, staking_node, operator, endpoint, p2p_address }
    registry_program::ResourceNodeRegistered {
        record, node_id, owner, parent, endpoint, capacity, min_price_compute_per_second,
        min_price_storage_per_gb_month
    }
    registry_program::NodeUpdated {
        record, kind, endpoint, p2p_address, capacity, min_price_compute_per_second,
        min_price_storage_per_gb_month
    }
    registry_program::NodeDeregistered { record, kind, owner }
    registry_program::ScoreReported { record, reporter, epoch, score, reports_this_epoch, quorum }
    registry_program::ScoreUpdated { record, epoch, score, reports }
    registry_program::DomainRequested { binding, domain, target, owner }
    registry_program::DomainAttested { binding, attester, ok, approvals, rejections, quorum }
    registry_program::DomainStatusChanged { binding, domain, target, status }
    escrow_program::EscrowInitialized { authority, mint }
    escrow_program::EscrowConfigUpdated { authority, pending_authority }
    escrow_program::EscrowAuthorityAccepted { previous, authority }
    escrow_program::StreamOpened {
        stream, owner, resource, kind, max_rate_per_second, replicas, deposit, opened_at,
        serve, allowed, size_bytes
    }
    escrow_program::StreamToppedUp { stream, amount, balance }
    escrow_program::ProviderJoined { stream, provider, providers }
    escrow_program::ProviderLeft { stream, provider, removed, providers }
    escrow_program::ProvidersAllowed { stream, allowed }
    escrow_program::StreamSettled { stream, paid, settled_until }
    escrow_program::StreamExhausted { stream, resource }
    escrow_program::StreamClosed { stream, refund }
    anchors_program::AnchorsInitialized { authority, allowlist }
    anchors_program::AnchorsConfigUpdated { authority, allowlist, pending_authority }
    anchors_program::AnchorsAuthorityAccepted { previous, authority }
    anchors_program::BatchAnchored { seq, root, count, content_id, submitter }
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.name(), self.to_json())
    }
}

/// Why a transaction's events could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// The RPC node returned the transaction in an encoding other than
    /// `json` with a raw message.
    #[error("transaction {0} is not in the `json` encoding with a raw message")]
    Encoding(String),
    /// An account index or instruction data did not parse.
    #[error("transaction {0}: {1}")]
    Malformed(String, String),
}

/// Events of a confirmed transaction, in the order they were emitted,
/// with their index in that order. A failed transaction has none.
///
/// The transaction must be fetched with `encoding: json`, so that account
/// keys and inner instructions are raw.
pub fn from_transaction(
    signature: &str,
    tx: &EncodedConfirmedTransactionWithStatusMeta,
) -> Result<Vec<Event>, EventsError> {
    let Some(meta) = &tx.transaction.meta else {
        return Ok(Vec::new());
    };
    if meta.err.is_some() {
        return Ok(Vec::new());
    }
    let EncodedTransaction::Json(ui) = &tx.transaction.transaction else {
        return Err(EventsError::Encoding(signature.to_owned()));
    };
    let UiMessage::Raw(raw) = &ui.message else {
        return Err(EventsError::Encoding(signature.to_owned()));
    };
    let mut keys = raw.account_keys.clone();
    // Versioned transactions append the keys loaded from lookup tables.
    if let OptionSerializer::Some(loaded) = &meta.loaded_addresses {
        keys.extend(loaded.writable.iter().cloned());
        keys.extend(loaded.readonly.iter().cloned());
    }
    let OptionSerializer::Some(inner) = &meta.inner_instructions else {
        return Ok(Vec::new());
    };
    let mut groups: Vec<_> = inner.iter().collect();
    groups.sort_by_key(|g| g.index);
    let ours = program_ids();
    let mut events = Vec::new();
    for ix in groups.into_iter().flat_map(|g| g.instructions.iter()) {
        let UiInstruction::Compiled(ix) = ix else {
            continue;
        };
        let malformed = |why: &str| EventsError::Malformed(signature.to_owned(), why.to_owned());
        let program: Pubkey = keys
            .get(usize::from(ix.program_id_index))
            .ok_or_else(|| malformed("an instruction's program index is out of range"))?
            .parse()
            .map_err(|_| malformed("an account key is not base58"))?;
        if !ours.contains(&program) {
            continue;
        }
        let data = bs58::decode(&ix.data)
            .into_vec()
            .map_err(|_| malformed("instruction data is not base58"))?;
        if let Some(body) = data.strip_prefix(EVENT_IX_TAG_LE) {
            if let Some(event) = Event::decode(&program, body) {
                events.push(event);
            }
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode<E: anchor_lang::Event>(e: &E) -> Vec<u8> {
        let mut data = E::DISCRIMINATOR.to_vec();
        e.serialize(&mut data).unwrap();
        data
    }

    #[test]
    fn decodes_only_from_the_emitting_program() {
        let e = escrow_program::events::StreamSettled {
            stream: Pubkey::new_unique(),
            paid: vec![3, 4],
            settled_until: 77,
        };
        let data = encode(&e);
        let got = Event::decode(&escrow_program::ID, &data).unwrap();
        assert_eq!(got.name(), "StreamSettled");
        assert_eq!(got.program(), escrow_program::ID);
        assert_eq!(
            got.to_json(),
            json!({"stream": e.stream.to_string(), "paid": [3, 4], "settled_until": 77})
        );
        // The same bytes from another program are not its event.
        assert!(Event::decode(&staking_program::ID, &data).is_none());
        // Truncated bodies do not parse.
        assert!(Event::decode(&escrow_program::ID, &data[..data.len() - 1]).is_none());
        assert!(Event::decode(&escrow_program::ID, &[1, 2, 3]).is_none());
    }

    #[test]
    fn writes_enums_and_nested_structs_by_name() {
        let e = registry_program::events::ResourceNodeRegistered {
            record: Pubkey::new_unique(),
            node_id: Pubkey::new_unique(),
            owner: Pubkey::new_unique(),
            parent: Pubkey::new_unique(),
            endpoint: "http://n".into(),
            capacity: registry_program::state::Capacity {
                vcpus: 4,
                memory_mib: 8192,
                disk_gib: 100,
            },
            min_price_compute_per_second: 1,
            min_price_storage_per_gb_month: 2,
        };
        let got = Event::decode(&registry_program::ID, &encode(&e)).unwrap();
        assert_eq!(got.to_json()["capacity"]["memory_mib"], 8192);
        let s = staking_program::events::NodeStatusChanged {
            node: Pubkey::new_unique(),
            status: staking_program::state::NodeStatus::Pending,
            activation_epoch: 2,
            total_stake: u64::MAX,
        };
        let got = Event::decode(&staking_program::ID, &encode(&s)).unwrap();
        assert_eq!(got.to_json()["status"], "Pending");
        assert_eq!(got.to_json()["total_stake"], u64::MAX);
    }
}
