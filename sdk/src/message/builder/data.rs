//! Builders of the content of POST, AGGREGATE, STORE and FORGET messages.

use serde_json::{Map, Value};

use super::{finish, ContentBuilder};
use crate::message::{
    AggregateContent, AggregateKey, Content, ForgetContent, ItemType, MessageError, Payment,
    PostContent, PostRef, StoreContent,
};

/// A POST: a document of a type of the dApp's choosing.
///
/// ```
/// use aether_sdk::message::PostBuilder;
/// use serde_json::json;
///
/// let post = PostBuilder::new("blog").content(json!({"title": "Hi"}));
/// // An amendment of an earlier post:
/// let fix = PostBuilder::new("amend")
///     .content(json!({"title": "Hello"}))
///     .reference("6f8a1c5d3e9b2f7a4c0d8e6b1a3f5c7d9e0b2a4c6d8f1e3a5b7c9d0e2f4a6b8c");
///
/// use aether_sdk::message::sign::EthereumAccount;
/// use aether_sdk::message::MessageBuilder;
/// let account = EthereumAccount::generate();
/// let builder = MessageBuilder::new(&account).channel("MY-BLOG");
/// for content in [post, fix] {
///     builder.build(content).unwrap().message.verify().unwrap();
/// }
/// ```
#[derive(Clone, Debug)]
pub struct PostBuilder {
    post_type: String,
    content: Option<Value>,
    reference: Option<PostRef>,
    address: Option<String>,
}

impl PostBuilder {
    /// A post of `post_type` (`amend` amends the post named by `reference`).
    pub fn new(post_type: impl Into<String>) -> Self {
        PostBuilder {
            post_type: post_type.into(),
            content: None,
            reference: None,
            address: None,
        }
    }
    /// The document.
    pub fn content(mut self, content: Value) -> Self {
        self.content = Some(content);
        self
    }
    /// What it refers to (for `amend`: the original post's item hash).
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(PostRef::Hash(reference.into()));
        self
    }
    /// Posts for another address that delegated to the signer.
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }
}

impl ContentBuilder for PostBuilder {
    fn into_content(self, address: &str, time: f64) -> Result<Content, MessageError> {
        finish(Content::Post(PostContent {
            address: self.address.unwrap_or_else(|| address.to_string()),
            time,
            content: self.content,
            reference: self.reference,
            post_type: self.post_type,
        }))
    }
}

/// An AGGREGATE: keys merged into the address's key-value store under `key`.
#[derive(Clone, Debug)]
pub struct AggregateBuilder {
    key: String,
    content: Value,
    address: Option<String>,
}

impl AggregateBuilder {
    /// Merges the keys of `content` (a JSON object) into aggregate `key`.
    pub fn new(key: impl Into<String>, content: Value) -> Self {
        AggregateBuilder {
            key: key.into(),
            content,
            address: None,
        }
    }
    /// Writes the aggregate of another address that delegated to the signer.
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }
}

impl ContentBuilder for AggregateBuilder {
    fn into_content(self, address: &str, time: f64) -> Result<Content, MessageError> {
        let Value::Object(content) = self.content else {
            return Err(MessageError::invalid(
                "content.content",
                "an aggregate's content is a JSON object",
            ));
        };
        finish(Content::Aggregate(AggregateContent {
            address: self.address.unwrap_or_else(|| address.to_string()),
            time,
            key: AggregateKey::Name(self.key),
            content,
        }))
    }
}

/// A STORE: keeps a file, named by its sha256 (`storage`) or CID (`ipfs`).
///
/// ```
/// use aether_sdk::content_id::sha256_hex;
/// use aether_sdk::message::sign::SolanaAccount;
/// use aether_sdk::message::{Content, MessageBuilder, StoreBuilder};
///
/// let file = b"<html>hello</html>";
/// let store = StoreBuilder::new(sha256_hex(file))
///     .unwrap()
///     .size(file.len() as u64)
///     .content_type("text/html");
/// let account = SolanaAccount::generate();
/// let signed = MessageBuilder::new(&account).build(store).unwrap();
/// signed.message.verify().unwrap();
/// let Content::Store(content) = signed.message.content().unwrap() else { unreachable!() };
/// assert_eq!(content.item_hash, sha256_hex(file));
/// ```
#[derive(Clone, Debug)]
pub struct StoreBuilder {
    content: StoreContent,
}

impl StoreBuilder {
    /// Stores the file whose sha256 hex or CID is `hash`.
    pub fn new(hash: impl Into<String>) -> Result<Self, MessageError> {
        let hash = hash.into();
        let item_type = ItemType::from_hash(&hash).ok_or_else(|| {
            MessageError::invalid(
                "content.item_hash",
                "neither a sha256 hex digest nor an IPFS CID",
            )
        })?;
        Ok(StoreBuilder {
            content: StoreContent {
                address: String::new(),
                time: 0.0,
                item_type,
                item_hash: hash,
                size: None,
                content_type: None,
                reference: None,
                tags: None,
                metadata: None,
                payment: None,
            },
        })
    }
    /// The file's size in bytes.
    pub fn size(mut self, size: u64) -> Self {
        self.content.size = Some(size);
        self
    }
    /// The file's MIME type.
    pub fn content_type(mut self, mime: impl Into<String>) -> Self {
        self.content.content_type = Some(mime.into());
        self
    }
    /// A reference of the dApp's choosing (a name, or the hash it replaces).
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.content.reference = Some(reference.into());
        self
    }
    /// Tags.
    pub fn tags(mut self, tags: Vec<String>) -> Self {
        self.content.tags = Some(tags);
        self
    }
    /// Free-form metadata.
    pub fn metadata(mut self, metadata: Map<String, Value>) -> Self {
        self.content.metadata = Some(metadata);
        self
    }
    /// How it is paid.
    pub fn payment(mut self, payment: Payment) -> Self {
        self.content.payment = Some(payment);
        self
    }
}

impl ContentBuilder for StoreBuilder {
    fn into_content(mut self, address: &str, time: f64) -> Result<Content, MessageError> {
        self.content.address = address.to_string();
        self.content.time = time;
        finish(Content::Store(self.content))
    }
}

/// A FORGET: removes the content of the sender's earlier messages.
///
/// ```
/// use aether_sdk::message::sign::SolanaAccount;
/// use aether_sdk::message::{ForgetBuilder, MessageBuilder, PostBuilder};
///
/// let account = SolanaAccount::generate();
/// let builder = MessageBuilder::new(&account);
/// let post = builder.build(PostBuilder::new("draft")).unwrap();
/// let forget = ForgetBuilder::new(vec![post.message.item_hash.clone()]).reason("published elsewhere");
/// builder.build(forget).unwrap().message.verify().unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct ForgetBuilder {
    hashes: Vec<String>,
    aggregates: Vec<String>,
    reason: Option<String>,
}

impl ForgetBuilder {
    /// Forgets the messages with these item hashes.
    pub fn new(hashes: Vec<String>) -> Self {
        ForgetBuilder {
            hashes,
            aggregates: Vec::new(),
            reason: None,
        }
    }
    /// Also forgets these aggregates.
    pub fn aggregates(mut self, aggregates: Vec<String>) -> Self {
        self.aggregates = aggregates;
        self
    }
    /// Why, for people.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

impl ContentBuilder for ForgetBuilder {
    fn into_content(self, address: &str, time: f64) -> Result<Content, MessageError> {
        finish(Content::Forget(ForgetContent {
            address: address.to_string(),
            time,
            hashes: self.hashes,
            aggregates: self.aggregates,
            reason: self.reason,
        }))
    }
}
