//! Builders: content with sane defaults, signed into a message.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::content::*;
use super::execution::*;
use super::sign::Signer;
use super::{ItemType, Message, MessageError, MAX_INLINE_SIZE};

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

fn finish(content: Content) -> Result<Content, MessageError> {
    content.validate()?;
    Ok(content)
}

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

/// A PROGRAM: a function booted on request. Defaults: 1 vCPU, 256 MiB, 30 s
/// per run, HTTP trigger on, internet on, code packed as squashfs, not amendable.
///
/// ```
/// use aether_sdk::message::{Encoding, ProgramBuilder};
///
/// let code = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
/// let runtime = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b";
/// let program = ProgramBuilder::new(code, "main:app", runtime)
///     .encoding(Encoding::Zip)
///     .memory_mib(512)
///     .variable("API_URL", "https://api.example.com");
///
/// use aether_sdk::message::sign::SolanaAccount;
/// use aether_sdk::message::MessageBuilder;
/// let account = SolanaAccount::generate();
/// let signed = MessageBuilder::new(&account).build(program).unwrap();
/// signed.message.verify().unwrap();
/// // The VM for this function is reached at /vm/<item hash>/.
/// println!("/vm/{}/", signed.message.item_hash);
/// ```
#[derive(Clone, Debug)]
pub struct ProgramBuilder {
    content: ProgramContent,
}

impl ProgramBuilder {
    /// Runs `entrypoint` from the code volume `code_ref` on the runtime image
    /// `runtime_ref` (both STORE'd content).
    pub fn new(
        code_ref: impl Into<String>,
        entrypoint: impl Into<String>,
        runtime_ref: impl Into<String>,
    ) -> Self {
        ProgramBuilder {
            content: ProgramContent {
                address: String::new(),
                time: 0.0,
                allow_amend: false,
                metadata: None,
                authorized_keys: None,
                variables: None,
                environment: FunctionEnvironment {
                    internet: true,
                    ..Default::default()
                },
                resources: MachineResources {
                    vcpus: 1,
                    memory: 256,
                    seconds: 30,
                    published_ports: None,
                },
                payment: None,
                requirements: None,
                volumes: Vec::new(),
                replaces: None,
                machine_type: MachineType::Function,
                code: CodeContent {
                    encoding: Encoding::Squashfs,
                    entrypoint: entrypoint.into(),
                    reference: code_ref.into(),
                    interface: None,
                    args: None,
                    use_latest: true,
                },
                runtime: FunctionRuntime {
                    reference: runtime_ref.into(),
                    use_latest: true,
                    comment: String::new(),
                },
                data: None,
                export: None,
                on: FunctionTriggers {
                    http: true,
                    message: None,
                    persistent: None,
                },
            },
        }
    }
    /// How the code volume is packed.
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.content.code.encoding = encoding;
        self
    }
    /// vCPUs.
    pub fn vcpus(mut self, vcpus: u32) -> Self {
        self.content.resources.vcpus = vcpus;
        self
    }
    /// Memory in MiB.
    pub fn memory_mib(mut self, memory: u64) -> Self {
        self.content.resources.memory = memory;
        self
    }
    /// Longest run in seconds.
    pub fn timeout_seconds(mut self, seconds: u64) -> Self {
        self.content.resources.seconds = seconds;
        self
    }
    /// Whether the VM reaches the internet.
    pub fn internet(mut self, on: bool) -> Self {
        self.content.environment.internet = on;
        self
    }
    /// Whether the VM reaches the core node's API.
    pub fn node_api(mut self, on: bool) -> Self {
        self.content.environment.aleph_api = on;
        self
    }
    /// Keeps the VM running instead of booting it per request.
    pub fn persistent(mut self, on: bool) -> Self {
        self.content.on.persistent = Some(on);
        self
    }
    /// An environment variable.
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.content
            .variables
            .get_or_insert_with(Default::default)
            .insert(name.into(), value.into());
        self
    }
    /// An extra volume.
    pub fn volume(mut self, volume: MachineVolume) -> Self {
        self.content.volumes.push(volume);
        self
    }
    /// Lets the owner amend it.
    pub fn allow_amend(mut self, allow: bool) -> Self {
        self.content.allow_amend = allow;
        self
    }
    /// How it is paid.
    pub fn payment(mut self, payment: Payment) -> Self {
        self.content.payment = Some(payment);
        self
    }
    /// Any other field, on the content itself.
    pub fn with(mut self, edit: impl FnOnce(&mut ProgramContent)) -> Self {
        edit(&mut self.content);
        self
    }
}

impl ContentBuilder for ProgramBuilder {
    fn into_content(mut self, address: &str, time: f64) -> Result<Content, MessageError> {
        self.content.address = address.to_string();
        self.content.time = time;
        finish(Content::Program(Box::new(self.content)))
    }
}

/// An INSTANCE: a long-running VM. Defaults: 1 vCPU, 2048 MiB, root
/// filesystem kept on the host, QEMU, internet on.
///
/// ```
/// use aether_sdk::message::sign::SolanaAccount;
/// use aether_sdk::message::{InstanceBuilder, MessageBuilder};
///
/// let debian = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";
/// let instance = InstanceBuilder::new(debian, 20_000)
///     .vcpus(2)
///     .authorized_key("ssh-ed25519 AAAAC3Nza… me@laptop");
/// let account = SolanaAccount::generate();
/// MessageBuilder::new(&account).build(instance).unwrap().message.verify().unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct InstanceBuilder {
    content: InstanceContent,
}

impl InstanceBuilder {
    /// An instance whose root filesystem of `size_mib` starts from the image
    /// `rootfs_ref` (STORE'd content).
    pub fn new(rootfs_ref: impl Into<String>, size_mib: u64) -> Self {
        InstanceBuilder {
            content: InstanceContent {
                address: String::new(),
                time: 0.0,
                allow_amend: false,
                metadata: None,
                authorized_keys: None,
                variables: None,
                environment: InstanceEnvironment {
                    internet: true,
                    hypervisor: Some(HypervisorType::Qemu),
                    ..Default::default()
                },
                resources: MachineResources {
                    vcpus: 1,
                    memory: 2048,
                    seconds: 30,
                    published_ports: None,
                },
                payment: None,
                requirements: None,
                volumes: Vec::new(),
                replaces: None,
                rootfs: RootfsVolume {
                    parent: ParentVolume {
                        reference: rootfs_ref.into(),
                        use_latest: true,
                    },
                    persistence: VolumePersistence::Host,
                    size_mib,
                    forgotten_by: None,
                },
            },
        }
    }
    /// vCPUs.
    pub fn vcpus(mut self, vcpus: u32) -> Self {
        self.content.resources.vcpus = vcpus;
        self
    }
    /// Memory in MiB.
    pub fn memory_mib(mut self, memory: u64) -> Self {
        self.content.resources.memory = memory;
        self
    }
    /// An SSH key allowed in.
    pub fn authorized_key(mut self, key: impl Into<String>) -> Self {
        self.content
            .authorized_keys
            .get_or_insert_with(Vec::new)
            .push(key.into());
        self
    }
    /// An extra volume.
    pub fn volume(mut self, volume: MachineVolume) -> Self {
        self.content.volumes.push(volume);
        self
    }
    /// How it is paid.
    pub fn payment(mut self, payment: Payment) -> Self {
        self.content.payment = Some(payment);
        self
    }
    /// Any other field, on the content itself.
    pub fn with(mut self, edit: impl FnOnce(&mut InstanceContent)) -> Self {
        edit(&mut self.content);
        self
    }
}

impl ContentBuilder for InstanceBuilder {
    fn into_content(mut self, address: &str, time: f64) -> Result<Content, MessageError> {
        self.content.address = address.to_string();
        self.content.time = time;
        finish(Content::Instance(Box::new(self.content)))
    }
}

/// Content already typed, signed as it is.
impl ContentBuilder for Content {
    fn into_content(self, _address: &str, _time: f64) -> Result<Content, MessageError> {
        finish(self)
    }
}
