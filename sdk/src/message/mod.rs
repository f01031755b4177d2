//! Messages: the signed, content-hashed unit of everything that happens off
//! chain, wire-compatible with the public Aleph message specification (the
//! `aleph-message` models), so Aleph clients and nodes understand ours.
//!
//! A message is an envelope ([`Message`]) around content: `item_content`
//! holds the content's JSON *as sent*, `item_hash` is its sha256 (for inline
//! content) or the id of the stored content, and `signature` signs the
//! verification buffer (chain, sender, type, item hash). The typed content
//! ([`Content`]) is a view parsed from `item_content`; hashing never
//! re-serializes it.
//!
//! Build, sign and verify a POST:
//!
//! ```
//! use aether_sdk::message::{MessageBuilder, PostBuilder, Message, Content};
//! use aether_sdk::message::sign::SolanaAccount;
//! use serde_json::json;
//!
//! let account = SolanaAccount::generate();
//! let signed = MessageBuilder::new(&account)
//!     .channel("MY-DAPP")
//!     .build(PostBuilder::new("chat").content(json!({"body": "hello"})))
//!     .unwrap();
//! let message: Message = signed.message;
//! message.verify().unwrap();
//!
//! // What a node receives parses and verifies the same way.
//! let wire = serde_json::to_string(&message).unwrap();
//! let received = Message::from_json(&wire).unwrap();
//! received.verify().unwrap();
//! match received.content().unwrap() {
//!     Content::Post(post) => assert_eq!(post.post_type, "chat"),
//!     other => panic!("not a post: {other:?}"),
//! }
//! ```

mod builder;
mod content;
mod envelope;
mod error;
mod execution;
pub mod json;
pub mod sign;

pub use builder::{
    AggregateBuilder, ContentBuilder, ForgetBuilder, InstanceBuilder, MessageBuilder, PostBuilder,
    ProgramBuilder, SignedMessage, StoreBuilder, DEFAULT_CHANNEL,
};
pub use content::*;
pub use envelope::{verify_batch, Message};
pub use error::MessageError;
pub use execution::*;

use serde::{Deserialize, Serialize};

/// Inline content must be shorter than this many bytes; larger content
/// goes to storage and the message carries its hash (as the reference
/// client does).
pub const MAX_INLINE_SIZE: usize = 50_000;
/// Longest channel name.
pub const MAX_CHANNEL_LENGTH: usize = 128;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in the specification's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as it is written on the wire.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "{other:?} is not one of {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// The chain of the sender's key, as the specification spells it.
    Chain {
        /// Arbitrum.
        Arbitrum = "ARB", /// Aurora.
        Aurora = "AURORA", /// Avalanche.
        Avax = "AVAX", /// Base.
        Base = "BASE", /// Blast.
        Blast = "BLAST", /// BOB.
        Bob = "BOB", /// BNB Smart Chain.
        Bsc = "BSC", /// Cosmos SDK.
        Csdk = "CSDK", /// Cyber.
        Cyber = "CYBER", /// Polkadot.
        Dot = "DOT", /// Eclipse.
        Eclipse = "ES", /// Ethereum: signed with EIP-191 `personal_sign`.
        Eth = "ETH", /// Etherlink.
        Etherlink = "ETHERLINK", /// Fraxtal.
        Fraxtal = "FRAX", /// Hyperliquid.
        Hype = "HYPE", /// Ink.
        Ink = "INK", /// Lens.
        Lens = "LENS", /// Linea.
        Linea = "LINEA", /// Lisk.
        Lisk = "LISK", /// Metis.
        Metis = "METIS", /// Mode.
        Mode = "MODE", /// Neo.
        Neo = "NEO", /// NULS.
        Nuls = "NULS", /// NULS 2.
        Nuls2 = "NULS2", /// Optimism.
        Optimism = "OP", /// Polygon.
        Pol = "POL", /// Solana: signed with ed25519.
        Sol = "SOL", /// Somnia.
        Somnia = "STT", /// Sonic.
        Sonic = "SONIC", /// Tezos.
        Tezos = "TEZOS", /// Unichain.
        Unichain = "UNICHAIN", /// World Chain.
        Worldchain = "WLD", /// Zora.
        Zora = "ZORA",
    }
}

string_enum! {
    /// What a message does.
    MessageType {
        /// A document, or an amendment of one.
        Post = "POST",
        /// Keys merged into the sender's key-value store.
        Aggregate = "AGGREGATE",
        /// A file pinned by its hash.
        Store = "STORE",
        /// A function run on request in a micro-VM.
        Program = "PROGRAM",
        /// A long-running micro-VM.
        Instance = "INSTANCE",
        /// A verifiable program (parsed as raw JSON only).
        VProgram = "V-PROGRAM",
        /// Removal of earlier messages' content.
        Forget = "FORGET",
    }
}

string_enum! {
    /// Where the content is: in the message, or stored by its hash.
    ItemType {
        /// `item_content` holds the content; `item_hash` is its sha256.
        Inline = "inline",
        /// The content is a file on the node's storage, by sha256.
        Storage = "storage",
        /// The content is an IPFS object, by CID.
        Ipfs = "ipfs",
    }
}

impl ItemType {
    /// The kind of hash `hash` is, as the specification infers it: a CIDv0
    /// or base32 CIDv1 is `ipfs`, 64 lowercase hex digits are `storage`.
    pub fn from_hash(hash: &str) -> Option<ItemType> {
        const B58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        const B32: &str = "abcdefghijklmnopqrstuvwxyz234567";
        if hash.starts_with("Qm")
            && (44..=46).contains(&hash.len())
            && hash[2..].chars().all(|c| B58.contains(c))
        {
            return Some(ItemType::Ipfs);
        }
        if hash.starts_with("bafy")
            && hash.len() == 59
            && hash[4..].chars().all(|c| B32.contains(c))
        {
            return Some(ItemType::Ipfs);
        }
        if hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Some(ItemType::Storage);
        }
        None
    }
}

/// Checks that `value` is an item hash (64 lowercase hex, or a CID).
pub(crate) fn check_item_hash(field: &str, value: &str) -> Result<(), MessageError> {
    ItemType::from_hash(value).map(|_| ()).ok_or_else(|| {
        MessageError::invalid(
            field,
            format!("{value:?} is neither a sha256 hex digest nor an IPFS CID"),
        )
    })
}
