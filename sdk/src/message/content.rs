//! The content of POST, AGGREGATE, STORE and FORGET messages, and the
//! [`Content`] enum over every type. Field order is the specification's, so
//! content serialized with [`super::json::to_python_json`] is byte for byte
//! what the Python models produce.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::execution::{InstanceContent, ProgramContent};
use super::{check_item_hash, string_enum, Chain, ItemType, MessageError, MessageType};

/// Largest content `time` the specification accepts.
pub const MAX_CONTENT_TIME: f64 = 9_223_372_036.0;
/// Most tags on a post or a stored file.
pub const MAX_TAGS: usize = 16;
/// Longest tag.
pub const MAX_TAG_LENGTH: usize = 256;
/// Most messages one FORGET may target.
pub const MAX_FORGET_TARGETS: usize = 1000;
/// Longest FORGET reason.
pub const MAX_FORGET_REASON_LENGTH: usize = 1000;

/// Typed content of a message, parsed from its `item_content`.
#[derive(Clone, Debug, PartialEq)]
pub enum Content {
    /// POST.
    Post(PostContent),
    /// AGGREGATE.
    Aggregate(AggregateContent),
    /// STORE.
    Store(StoreContent),
    /// PROGRAM.
    Program(Box<ProgramContent>),
    /// INSTANCE.
    Instance(Box<InstanceContent>),
    /// FORGET.
    Forget(ForgetContent),
    /// V-PROGRAM, kept as JSON: its model is not typed here.
    VProgram(Map<String, Value>),
}

impl Content {
    /// Parses `item_content` as the content of a `message_type` message,
    /// and validates it.
    pub fn parse(message_type: MessageType, item_content: &str) -> Result<Content, MessageError> {
        fn typed<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, MessageError> {
            serde_json::from_str(text).map_err(|e| MessageError::invalid("content", e.to_string()))
        }
        let content = match message_type {
            MessageType::Post => Content::Post(typed(item_content)?),
            MessageType::Aggregate => Content::Aggregate(typed(item_content)?),
            MessageType::Store => Content::Store(typed(item_content)?),
            MessageType::Program => Content::Program(Box::new(typed(item_content)?)),
            MessageType::Instance => Content::Instance(Box::new(typed(item_content)?)),
            MessageType::Forget => Content::Forget(typed(item_content)?),
            MessageType::VProgram => Content::VProgram(typed(item_content)?),
        };
        content.validate()?;
        Ok(content)
    }

    /// The message type this content belongs to.
    pub fn message_type(&self) -> MessageType {
        match self {
            Content::Post(_) => MessageType::Post,
            Content::Aggregate(_) => MessageType::Aggregate,
            Content::Store(_) => MessageType::Store,
            Content::Program(_) => MessageType::Program,
            Content::Instance(_) => MessageType::Instance,
            Content::Forget(_) => MessageType::Forget,
            Content::VProgram(_) => MessageType::VProgram,
        }
    }

    /// The address the content acts for (the sender, or who delegated it).
    pub fn address(&self) -> Option<&str> {
        Some(match self {
            Content::Post(c) => &c.address,
            Content::Aggregate(c) => &c.address,
            Content::Store(c) => &c.address,
            Content::Program(c) => &c.address,
            Content::Instance(c) => &c.address,
            Content::Forget(c) => &c.address,
            Content::VProgram(c) => return c.get("address").and_then(Value::as_str),
        })
    }

    /// The content as JSON, byte for byte as the Python models write it.
    pub fn to_item_content(&self) -> String {
        let result = match self {
            Content::Post(c) => super::json::to_python_json(c),
            Content::Aggregate(c) => super::json::to_python_json(c),
            Content::Store(c) => super::json::to_python_json(c),
            Content::Program(c) => super::json::to_python_json(c),
            Content::Instance(c) => super::json::to_python_json(c),
            Content::Forget(c) => super::json::to_python_json(c),
            Content::VProgram(c) => super::json::to_python_json(c),
        };
        result.expect("content types serialize infallibly")
    }

    /// Checks every field against the specification's limits.
    pub fn validate(&self) -> Result<(), MessageError> {
        match self {
            Content::Post(c) => c.validate(),
            Content::Aggregate(c) => c.validate(),
            Content::Store(c) => c.validate(),
            Content::Program(c) => c.validate(),
            Content::Instance(c) => c.validate(),
            Content::Forget(c) => c.validate(),
            Content::VProgram(c) => match c.get("address") {
                Some(Value::String(_)) => Ok(()),
                _ => Err(MessageError::missing("content.address")),
            },
        }
    }
}

pub(crate) fn check_base(address: &str, time: f64) -> Result<(), MessageError> {
    if address.is_empty() {
        return Err(MessageError::missing("content.address"));
    }
    if !(0.0..=MAX_CONTENT_TIME).contains(&time) {
        return Err(MessageError::invalid(
            "content.time",
            format!("{time} is not a time in seconds between 0 and {MAX_CONTENT_TIME}"),
        ));
    }
    Ok(())
}

pub(crate) fn check_tags(field: &str, tags: &[String]) -> Result<(), MessageError> {
    if tags.len() > MAX_TAGS {
        return Err(MessageError::invalid(
            field,
            format!("{} tags, at most {MAX_TAGS}", tags.len()),
        ));
    }
    for tag in tags {
        if tag.is_empty() || tag.chars().count() > MAX_TAG_LENGTH {
            return Err(MessageError::invalid(
                field,
                format!("a tag is 1 to {MAX_TAG_LENGTH} characters"),
            ));
        }
    }
    Ok(())
}

/// `tags` inside free-form content, when present, must be a list of tags.
fn check_nested_tags(field: &str, content: &Value) -> Result<(), MessageError> {
    let Some(tags) = content.as_object().and_then(|o| o.get("tags")) else {
        return Ok(());
    };
    if tags.is_null() {
        return Ok(());
    }
    let tags: Vec<String> = serde_json::from_value(tags.clone()).map_err(|_| {
        MessageError::invalid(format!("{field}.tags"), "tags must be a list of strings")
    })?;
    check_tags(&format!("{field}.tags"), &tags)
}

/// What a POST amends or answers: an item hash, or a message on another chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PostRef {
    /// A message's item hash (or any reference string).
    Hash(String),
    /// A message on another chain.
    Chain(ChainRef),
}

/// A message on another chain, referenced by a POST.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChainRef {
    /// The chain.
    pub chain: Chain,
    /// Its channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Its content.
    pub item_content: String,
    /// Its item hash.
    pub item_hash: String,
    /// Where its content is.
    pub item_type: ItemType,
    /// Its sender.
    pub sender: String,
    /// Its signature.
    pub signature: String,
    /// Its time.
    pub time: f64,
    /// Always `POST`.
    #[serde(rename = "type", default = "post_literal")]
    pub ref_type: String,
}

fn post_literal() -> String {
    "POST".into()
}

/// A document: free-form JSON with a type of the dApp's choosing. A POST of
/// type `amend` replaces the content of the post its `ref` names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostContent {
    /// The address the post is for.
    pub address: String,
    /// Unix time in seconds.
    pub time: f64,
    /// The document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    /// What it refers to; required for `amend`.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<PostRef>,
    /// The post type (`amend` amends `ref`).
    #[serde(rename = "type")]
    pub post_type: String,
}

impl PostContent {
    fn validate(&self) -> Result<(), MessageError> {
        check_base(&self.address, self.time)?;
        if let Some(content) = &self.content {
            check_nested_tags("content.content", content)?;
        }
        if self.post_type == "amend" && self.reference.is_none() {
            return Err(MessageError::invalid(
                "content.ref",
                "a POST of type \"amend\" needs a ref",
            ));
        }
        if let Some(PostRef::Chain(r)) = &self.reference {
            check_item_hash("content.ref.item_hash", &r.item_hash)?;
        }
        Ok(())
    }
}

/// The key of an aggregate: a name, or `{"name": …}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AggregateKey {
    /// The key's name.
    Name(String),
    /// The key as an object.
    Object {
        /// The key's name.
        name: String,
    },
}

impl AggregateKey {
    /// The key's name, whichever form it has.
    pub fn name(&self) -> &str {
        match self {
            AggregateKey::Name(name) | AggregateKey::Object { name } => name,
        }
    }
}

/// Keys merged into the address's aggregate under `key`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateContent {
    /// The address whose aggregate this is.
    pub address: String,
    /// Unix time in seconds.
    pub time: f64,
    /// Which aggregate.
    pub key: AggregateKey,
    /// The keys and values to merge.
    pub content: Map<String, Value>,
}

impl AggregateContent {
    fn validate(&self) -> Result<(), MessageError> {
        check_base(&self.address, self.time)?;
        if self.key.name().is_empty() {
            return Err(MessageError::missing("content.key"));
        }
        check_nested_tags("content.content", &Value::Object(self.content.clone()))
    }
}

string_enum! {
    /// How an execution or a file is paid for.
    PaymentType {
        /// By holding tokens.
        Hold = "hold",
        /// By a payment stream.
        Superfluid = "superfluid",
        /// By credits.
        Credit = "credit",
    }
}

/// How content is paid for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// The chain paid on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Chain>,
    /// Who receives a stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// The kind of payment.
    #[serde(rename = "type")]
    pub payment_type: PaymentType,
}

/// A file kept by the network, named by its hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreContent {
    /// The owner.
    pub address: String,
    /// Unix time in seconds.
    pub time: f64,
    /// Where the file is: `storage` (sha256) or `ipfs` (CID).
    pub item_type: ItemType,
    /// The file's hash.
    pub item_hash: String,
    /// Size in bytes, as the node found it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// A reference of the dApp's choosing (a name, or an earlier hash).
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// How it is paid for (`hold` or `credit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
}

impl StoreContent {
    fn validate(&self) -> Result<(), MessageError> {
        check_base(&self.address, self.time)?;
        check_item_hash("content.item_hash", &self.item_hash)?;
        if let Some(tags) = &self.tags {
            check_tags("content.tags", tags)?;
        }
        if let Some(payment) = &self.payment {
            if payment.payment_type == PaymentType::Superfluid {
                return Err(MessageError::invalid(
                    "content.payment.type",
                    "a STORE is paid by hold or credit",
                ));
            }
        }
        Ok(())
    }
}

/// Removes the content of earlier messages (and aggregates) of the sender.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgetContent {
    /// The owner of the targets.
    pub address: String,
    /// Unix time in seconds.
    pub time: f64,
    /// Item hashes of the messages to forget.
    pub hashes: Vec<String>,
    /// Item hashes of aggregates to forget; always written, even empty.
    #[serde(default)]
    pub aggregates: Vec<String>,
    /// Why, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ForgetContent {
    fn validate(&self) -> Result<(), MessageError> {
        check_base(&self.address, self.time)?;
        if self.hashes.len() > MAX_FORGET_TARGETS || self.aggregates.len() > MAX_FORGET_TARGETS {
            return Err(MessageError::invalid(
                "content.hashes",
                format!("at most {MAX_FORGET_TARGETS} targets"),
            ));
        }
        for (i, hash) in self.hashes.iter().enumerate() {
            check_item_hash(&format!("content.hashes[{i}]"), hash)?;
        }
        for (i, hash) in self.aggregates.iter().enumerate() {
            check_item_hash(&format!("content.aggregates[{i}]"), hash)?;
        }
        if self
            .reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_FORGET_REASON_LENGTH)
        {
            return Err(MessageError::invalid(
                "content.reason",
                format!("at most {MAX_FORGET_REASON_LENGTH} characters"),
            ));
        }
        Ok(())
    }
}
