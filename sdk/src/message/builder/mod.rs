//! Builders: content with sane defaults, signed into a message.
//!
//! [`MessageBuilder`] signs; the content builders live in `data` (POST,
//! AGGREGATE, STORE, FORGET) and `vm` (PROGRAM, INSTANCE).

mod data;
mod vm;

pub use data::{AggregateBuilder, ForgetBuilder, PostBuilder, StoreBuilder};
pub use vm::{InstanceBuilder, ProgramBuilder};

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::sign::Signer;
use super::{Content, ItemType, Message, MessageError, MAX_INLINE_SIZE};

/// The channel messages go to when neither the builder nor `AETHER_CHANNEL`
/// names one.
pub const DEFAULT_CHANNEL: &str = "AETHER";

/// Content of one message type, completed with the sender's address and
/// the time when the message is built.
pub trait ContentBuilder {
    /// The content, for `address` at `time`, validated.
    fn into_content(self, address: &str, time: f64) -> Result<Content, MessageError>;
}

/// A signed message, ready to send.
#[derive(Clone, Debug)]
pub struct SignedMessage {
    /// The envelope.
    pub message: Message,
    /// Its typed content.
    pub content: Content,
    /// Content too large to inline (`item_type` is `storage`): these exact
    /// bytes must be stored on the node (the node client does it) before
    /// the message is sent; their sha256 is the item hash.
    pub storage_content: Option<String>,
}

/// Signs content into messages for one sender.
///
/// Defaults: the time is now, the channel is `AETHER_CHANNEL` or
/// [`DEFAULT_CHANNEL`], and content under [`MAX_INLINE_SIZE`] bytes is
/// inlined.
///
/// ```
/// use aether_sdk::message::{AggregateBuilder, MessageBuilder};
/// use aether_sdk::message::sign::EthereumAccount;
/// use serde_json::json;
///
/// let account = EthereumAccount::generate();
/// let signed = MessageBuilder::new(&account)
///     .build(AggregateBuilder::new("profile", json!({"name": "Ada"})))
///     .unwrap();
/// assert_eq!(signed.message.sender, account_address(&account));
/// signed.message.verify().unwrap();
/// # fn account_address(a: &EthereumAccount) -> String {
/// #     use aether_sdk::message::sign::Signer;
/// #     a.address()
/// # }
/// ```
pub struct MessageBuilder<'a, S: Signer + ?Sized> {
    signer: &'a S,
    channel: Option<String>,
    time: Option<f64>,
    inline_limit: usize,
}

impl<'a, S: Signer + ?Sized> MessageBuilder<'a, S> {
    /// A builder signing with `signer`.
    pub fn new(signer: &'a S) -> Self {
        let channel = std::env::var("AETHER_CHANNEL")
            .ok()
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| DEFAULT_CHANNEL.to_string());
        MessageBuilder {
            signer,
            channel: Some(channel),
            time: None,
            inline_limit: MAX_INLINE_SIZE,
        }
    }

    /// Sends to `channel`.
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    /// Sends with no channel.
    pub fn no_channel(mut self) -> Self {
        self.channel = None;
        self
    }

    /// Signs at `time` (Unix seconds) instead of now.
    pub fn time(mut self, time: f64) -> Self {
        self.time = Some(time);
        self
    }

    /// Inlines content only under `limit` bytes (at most [`MAX_INLINE_SIZE`]).
    pub fn inline_limit(mut self, limit: usize) -> Self {
        self.inline_limit = limit.min(MAX_INLINE_SIZE);
        self
    }

    /// Builds the content, serializes it as the reference client does,
    /// hashes and signs it.
    pub fn build(&self, content: impl ContentBuilder) -> Result<SignedMessage, MessageError> {
        let time = self.time.unwrap_or_else(now);
        let content = content.into_content(&self.signer.address(), time)?;
        let item_content = content.to_item_content();
        let item_hash = hex::encode(Sha256::digest(item_content.as_bytes()));
        let inline = item_content.len() < self.inline_limit;
        let mut message = Message {
            chain: self.signer.chain(),
            sender: self.signer.address(),
            message_type: content.message_type(),
            channel: self.channel.clone(),
            signature: None,
            time,
            item_type: if inline {
                ItemType::Inline
            } else {
                ItemType::Storage
            },
            item_content: None,
            item_hash,
        };
        message.signature = Some(self.signer.sign_buffer(&message.verification_buffer()));
        let storage_content = if inline {
            message.item_content = Some(item_content);
            None
        } else {
            Some(item_content)
        };
        message.check_shape()?;
        Ok(SignedMessage {
            message,
            content,
            storage_content,
        })
    }
}

fn now() -> f64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    // Microseconds, as Python's time.time() carries them.
    (since.as_micros() as f64) / 1e6
}

/// Where every content builder ends: content is checked before it is signed.
fn finish(content: Content) -> Result<Content, MessageError> {
    content.validate()?;
    Ok(content)
}

/// Content already typed, signed as it is.
impl ContentBuilder for Content {
    fn into_content(self, _address: &str, _time: f64) -> Result<Content, MessageError> {
        finish(self)
    }
}
