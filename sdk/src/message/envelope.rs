//! The envelope: parsing with field-named errors, hashing, verification.

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::content::Content;
use super::sign::{self, verification_buffer, SignatureError};
use super::{Chain, ItemType, MessageError, MessageType, MAX_CHANNEL_LENGTH, MAX_INLINE_SIZE};

/// A message as it travels between clients and nodes. Serializes to the
/// nine fields a client broadcasts, in the reference client's order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Message {
    /// The chain of the sender's key.
    pub chain: Chain,
    /// The sender's address on that chain.
    pub sender: String,
    /// What the message does.
    #[serde(rename = "type")]
    pub message_type: MessageType,
    /// The channel (a namespace of the dApp's choosing).
    pub channel: Option<String>,
    /// The signature of the verification buffer, encoded per chain.
    pub signature: Option<String>,
    /// Unix time in seconds at which it was signed.
    pub time: f64,
    /// Where the content is.
    pub item_type: ItemType,
    /// The content's JSON as sent, for inline messages.
    pub item_content: Option<String>,
    /// sha256 of `item_content` (inline), or the id of the stored content.
    pub item_hash: String,
}

/// Fields nodes add to a message in their answers; accepted and ignored.
const NODE_FIELDS: &[&str] = &[
    "content",
    "size",
    "confirmations",
    "confirmed",
    "hash_type",
    "forgotten_by",
    "_id",
];

fn required<'a>(object: &'a Map<String, Value>, field: &str) -> Result<&'a Value, MessageError> {
    match object.get(field) {
        None | Some(Value::Null) => Err(MessageError::missing(field)),
        Some(value) => Ok(value),
    }
}

fn string(object: &Map<String, Value>, field: &str) -> Result<String, MessageError> {
    required(object, field)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| MessageError::invalid(field, "must be a string"))
}

fn optional_string(
    object: &Map<String, Value>,
    field: &str,
) -> Result<Option<String>, MessageError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(MessageError::invalid(field, "must be a string or null")),
    }
}

fn parsed<T: std::str::FromStr<Err = String>>(
    object: &Map<String, Value>,
    field: &str,
) -> Result<T, MessageError> {
    string(object, field)?
        .parse()
        .map_err(|reason| MessageError::invalid(field, reason))
}

/// A time as Unix seconds: a number, or an RFC 3339 date as the Python
/// models dump it.
fn time_of(value: &Value) -> Result<f64, MessageError> {
    let seconds = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp() as f64 + t.timestamp_subsec_micros() as f64 / 1e6),
        _ => None,
    };
    match seconds {
        Some(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err(MessageError::invalid(
            "time",
            "must be Unix seconds (a non-negative number) or an RFC 3339 date",
        )),
    }
}

impl Message {
    /// Parses a message from JSON, naming the field at fault when it cannot.
    pub fn from_json(text: &str) -> Result<Message, MessageError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| MessageError::invalid("message", format!("not JSON: {e}")))?;
        Message::from_value(&value)
    }

    /// Parses a message from a JSON value (see [`Message::from_json`]).
    pub fn from_value(value: &Value) -> Result<Message, MessageError> {
        let object = value
            .as_object()
            .ok_or_else(|| MessageError::invalid("message", "must be a JSON object"))?;
        const FIELDS: &[&str] = &[
            "chain",
            "sender",
            "type",
            "channel",
            "signature",
            "time",
            "item_type",
            "item_content",
            "item_hash",
        ];
        if let Some(unknown) = object
            .keys()
            .find(|k| !FIELDS.contains(&k.as_str()) && !NODE_FIELDS.contains(&k.as_str()))
        {
            return Err(MessageError::invalid(
                unknown.as_str(),
                "not a field of a message",
            ));
        }
        Ok(Message {
            chain: parsed(object, "chain")?,
            sender: string(object, "sender")?,
            message_type: parsed(object, "type")?,
            channel: optional_string(object, "channel")?,
            signature: optional_string(object, "signature")?,
            time: time_of(required(object, "time")?)?,
            item_type: parsed(object, "item_type")?,
            item_content: optional_string(object, "item_content")?,
            item_hash: string(object, "item_hash")?,
        })
    }

    /// The bytes the signature covers.
    pub fn verification_buffer(&self) -> Vec<u8> {
        verification_buffer(
            self.chain,
            &self.sender,
            self.message_type.as_str(),
            &self.item_hash,
        )
    }

    /// Checks the message's shape: channel, where its content is, the item
    /// hash's form, the inline size limit, and the content itself.
    pub fn check_shape(&self) -> Result<(), MessageError> {
        self.shape().map(|_| ())
    }

    /// The shape checks; returns the parsed content of an inline message.
    fn shape(&self) -> Result<Option<Content>, MessageError> {
        if self.sender.is_empty() {
            return Err(MessageError::missing("sender"));
        }
        if let Some(channel) = &self.channel {
            if channel.chars().count() > MAX_CHANNEL_LENGTH {
                return Err(MessageError::invalid(
                    "channel",
                    format!("at most {MAX_CHANNEL_LENGTH} characters"),
                ));
            }
        }
        let hash_kind = ItemType::from_hash(&self.item_hash).ok_or_else(|| {
            MessageError::invalid(
                "item_hash",
                "neither 64 lowercase hex digits (sha256) nor an IPFS CID",
            )
        })?;
        match (self.item_type, &self.item_content) {
            (ItemType::Inline, None) => return Err(MessageError::missing("item_content")),
            (ItemType::Inline, Some(content)) => {
                if content.len() >= MAX_INLINE_SIZE {
                    return Err(MessageError::TooLarge {
                        size: content.len(),
                        limit: MAX_INLINE_SIZE - 1,
                    });
                }
                if hash_kind != ItemType::Storage {
                    return Err(MessageError::invalid(
                        "item_hash",
                        "inline content is named by its sha256 in hex",
                    ));
                }
                return Ok(Some(self.content()?));
            }
            (kind, Some(_)) => {
                return Err(MessageError::invalid(
                    "item_content",
                    format!("must be absent when item_type is {kind}"),
                ))
            }
            (kind, None) if kind != hash_kind => {
                return Err(MessageError::invalid(
                    "item_hash",
                    format!("is not the kind of hash item_type {kind} uses"),
                ))
            }
            _ => {}
        }
        Ok(None)
    }

    /// Checks that the item hash is the sha256 of the inline content.
    /// (Stored content is checked when it is fetched.)
    pub fn check_hash(&self) -> Result<(), MessageError> {
        if let (ItemType::Inline, Some(content)) = (self.item_type, &self.item_content) {
            let expected = hex::encode(Sha256::digest(content.as_bytes()));
            if expected != self.item_hash {
                return Err(MessageError::HashMismatch {
                    expected,
                    found: self.item_hash.clone(),
                });
            }
        }
        Ok(())
    }

    /// Checks the signature against the sender.
    pub fn check_signature(&self) -> Result<(), MessageError> {
        let signature = self
            .signature
            .as_deref()
            .ok_or_else(|| MessageError::missing("signature"))?;
        sign::verify(
            self.chain,
            &self.sender,
            signature,
            &self.verification_buffer(),
        )?;
        Ok(())
    }

    /// Shape, hash and signature, in that order.
    pub fn verify(&self) -> Result<(), MessageError> {
        self.verify_content().map(|_| ())
    }

    /// Like [`Message::verify`], and returns the typed content of an inline
    /// message (parsed once), or `None` when the content is stored apart.
    pub fn verify_content(&self) -> Result<Option<Content>, MessageError> {
        let content = self.shape()?;
        self.check_hash()?;
        self.check_signature()?;
        Ok(content)
    }

    /// The typed content of an inline message.
    pub fn content(&self) -> Result<Content, MessageError> {
        let text = self
            .item_content
            .as_deref()
            .ok_or_else(|| MessageError::missing("item_content"))?;
        Content::parse(self.message_type, text)
    }

    /// The typed content of a message whose content was stored apart,
    /// checked against the item hash first.
    pub fn content_from(&self, stored: &[u8]) -> Result<Content, MessageError> {
        let matches = match self.item_type {
            ItemType::Inline | ItemType::Storage => {
                hex::encode(Sha256::digest(stored)) == self.item_hash
            }
            ItemType::Ipfs => self
                .item_hash
                .parse::<crate::content_id::Cid>()
                .is_ok_and(|cid| crate::content_id::cid_of_bytes(stored, cid.version()) == cid),
        };
        if !matches {
            return Err(MessageError::invalid(
                "item_hash",
                "the stored content does not hash to it",
            ));
        }
        let text = std::str::from_utf8(stored)
            .map_err(|_| MessageError::invalid("content", "stored content is not UTF-8"))?;
        Content::parse(self.message_type, text)
    }
}

/// Verifies many messages at once. Solana signatures are checked together
/// with ed25519 batch verification (about twice as fast as one by one);
/// when a batch fails, its messages are checked one by one to say which.
/// Returns one result per message, in order.
pub fn verify_batch(messages: &[Message]) -> Vec<Result<(), MessageError>> {
    let mut results: Vec<Result<(), MessageError>> = messages
        .iter()
        .map(|m| m.check_shape().and_then(|()| m.check_hash()))
        .collect();
    let mut batch = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        if results[i].is_err() {
            continue;
        }
        if message.chain != Chain::Sol {
            results[i] = message.check_signature();
            continue;
        }
        match message.signature.as_deref() {
            None => results[i] = Err(MessageError::missing("signature")),
            Some(field) => match sign::solana::decode(&message.sender, field) {
                // Weak keys fail `verify_strict`; batch verification would not notice.
                Ok(decoded) if decoded.public_key.is_weak() => {
                    results[i] = Err(SignatureError::Invalid.into())
                }
                Ok(decoded) => batch.push((i, message.verification_buffer(), decoded)),
                Err(e) => results[i] = Err(e.into()),
            },
        }
    }
    if batch.is_empty() {
        return results;
    }
    let buffers: Vec<&[u8]> = batch.iter().map(|(_, b, _)| b.as_slice()).collect();
    let signatures: Vec<_> = batch.iter().map(|(_, _, d)| d.signature).collect();
    let keys: Vec<_> = batch.iter().map(|(_, _, d)| d.public_key).collect();
    if ed25519_dalek::verify_batch(&buffers, &signatures, &keys).is_err() {
        for (i, buffer, decoded) in &batch {
            if decoded
                .public_key
                .verify_strict(buffer, &decoded.signature)
                .is_err()
            {
                results[*i] = Err(SignatureError::Invalid.into());
            }
        }
    }
    results
}
