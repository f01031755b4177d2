//! From a PROGRAM or INSTANCE message to what vm-host runs.
//!
//! A PROGRAM (a function):
//! - `code.ref` names the STORE message of the code volume; with
//!   `code.use_latest`, its newest amendment (a STORE whose `ref` is it).
//!   The file is an ext4 or squashfs image, or a tar archive.
//! - `code.entrypoint` runs under `/bin/sh -c` in `/code`; the program
//!   listens on `$PORT` (8080). `module:app` (ASGI) entrypoints need a
//!   Python runtime and are refused.
//! - `resources.vcpus` and `resources.memory` (MiB) size the VM;
//!   `variables` become its environment; an ephemeral volume becomes its
//!   scratch space, a persistent one its persistent volume.
//! - `runtime.ref` is not used: the kernel and init are the host's runtime.
//! - `environment.aleph_api` lets the VM reach its core node's API, at
//!   `http://10.0.2.5` inside the guest (`$AETHER_NODE_URL`); nothing else
//!   on the host is reachable.
//!
//! An INSTANCE (always on, one VM per node that serves it):
//! - `rootfs.parent.ref` names the STORE message of its root file system
//!   image (ext4, or a tar archive); with `use_latest`, its newest
//!   amendment. Each node copies it once to the instance's own disk of
//!   `rootfs.size_mib`, kept across restarts (a newer image does not
//!   replace a disk already made) and deleted when the instance stops
//!   being paid for.
//! - The VM boots the host's kernel and agent, which runs
//!   `/etc/aether/start` chrooted in that root file system (with its own
//!   `/bin/sh`); it serves HTTP on `$PORT` (8080), reached like a program
//!   at `/vm/<item hash>/`. It runs from the moment the node joins its
//!   stream, whether or not requests come, and boots again if it dies.
//! - Resources, `variables` and volumes as for a PROGRAM; ephemeral and
//!   persistent volumes appear at `/scratch` and `/data` inside its root.

use aether_sdk::message::{
    Content, InstanceContent, Interface, MachineVolume, Message, ProgramContent,
};
use aether_sdk::node_client::{MessageFilter, NodeClient};

/// The port programs listen on.
pub const PORT: u16 = 8080;

/// Where a VM with `environment.aleph_api` reaches the core node.
pub const NODE_API_GUEST: &str = "10.0.2.5:80";

/// What an instance runs, inside its root file system.
pub const INSTANCE_START: &str = "exec /etc/aether/start";

/// Why a PROGRAM cannot be served here.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The core node did not give what was needed.
    #[error("reading {what} from the core node: {why}")]
    Node {
        /// What was read.
        what: String,
        /// Why it failed.
        why: String,
    },
    /// The message is not a PROGRAM, or its content does not parse.
    #[error("{0}")]
    Content(String),
    /// Something this host does not run.
    #[error("not supported here: {0}")]
    Unsupported(String),
}

/// What the provisioner needs of a PROGRAM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The PROGRAM's item hash.
    pub item_hash: String,
    /// Content id of the code volume's file.
    pub code_file: String,
    /// What runs.
    pub entrypoint: String,
    /// vCPUs.
    pub vcpus: u32,
    /// Memory, MiB.
    pub memory_mib: u32,
    /// Environment.
    pub env: Vec<(String, String)>,
    /// Scratch volume, MiB.
    pub scratch_mib: Option<u64>,
    /// Persistent volume, MiB.
    pub persistent_mib: Option<u64>,
    /// For an instance: the size of its root file system, MiB (then
    /// `code_file` is the image it starts from).
    pub rootfs_mib: Option<u64>,
    /// The VM may reach the core node's API (`environment.aleph_api`).
    pub node_api: bool,
}

impl Wanted {
    /// Disk it takes on the node, MiB: root file system, persistent and
    /// scratch volumes.
    pub fn disk_mib(&self) -> u64 {
        [self.rootfs_mib, self.persistent_mib, self.scratch_mib]
            .into_iter()
            .flatten()
            .fold(0u64, u64::saturating_add)
    }
}

fn node_err(what: &str) -> impl FnOnce(aether_sdk::node_client::ClientError) -> SpecError + '_ {
    move |e| SpecError::Node {
        what: what.to_owned(),
        why: e.to_string(),
    }
}

/// The typed content of a message, inline or stored apart.
pub async fn content(node: &NodeClient, message: &Message) -> Result<Content, SpecError> {
    if message.item_content.is_some() {
        return message
            .content()
            .map_err(|e| SpecError::Content(e.to_string()));
    }
    let mut bytes = Vec::new();
    node.download_file(&message.item_hash, &mut bytes, |_, _| {})
        .await
        .map_err(node_err("the message content"))?;
    message
        .content_from(&bytes)
        .map_err(|e| SpecError::Content(e.to_string()))
}

/// The file of the STORE message `store`, or of its newest amendment.
async fn code_file(node: &NodeClient, store: &str, use_latest: bool) -> Result<String, SpecError> {
    let mut hash = store.to_owned();
    if use_latest {
        let filter = MessageFilter {
            types: vec!["STORE".into()],
            refs: vec![store.to_owned()],
            ..Default::default()
        };
        let page = node
            .messages(&filter, 1, 1)
            .await
            .map_err(node_err("the code's amendments"))?;
        if let Some(latest) = page.messages.first() {
            hash = latest.item_hash.clone();
        }
    }
    let found = node
        .message(&hash)
        .await
        .map_err(node_err("the code's STORE message"))?;
    let message = found.message.ok_or_else(|| SpecError::Node {
        what: format!("STORE {hash}"),
        why: "not found".into(),
    })?;
    match content(node, &message).await? {
        Content::Store(store) => Ok(store.item_hash),
        other => Err(SpecError::Content(format!(
            "code.ref {hash} is a {} message, not a STORE",
            other.message_type()
        ))),
    }
}

/// What to run for the PROGRAM or INSTANCE `content` (item hash
/// `item_hash`); `None` for other messages.
pub async fn wanted_for(
    node: &NodeClient,
    item_hash: &str,
    content: &Content,
) -> Option<Result<Wanted, SpecError>> {
    match content {
        Content::Program(p) => Some(wanted(node, item_hash, p).await),
        Content::Instance(i) => Some(wanted_instance(node, item_hash, i).await),
        _ => None,
    }
}

/// What to run for `program` (item hash `item_hash`).
pub async fn wanted(
    node: &NodeClient,
    item_hash: &str,
    program: &ProgramContent,
) -> Result<Wanted, SpecError> {
    if program.code.inferred_interface() == Interface::Asgi {
        return Err(SpecError::Unsupported(format!(
            "the ASGI entrypoint {:?} needs a Python runtime",
            program.code.entrypoint
        )));
    }
    let code_file = code_file(node, &program.code.reference, program.code.use_latest).await?;
    let (scratch_mib, persistent_mib) = volumes(&program.volumes)?;
    Ok(Wanted {
        item_hash: item_hash.to_owned(),
        code_file,
        entrypoint: program.code.entrypoint.clone(),
        vcpus: program.resources.vcpus.max(1),
        memory_mib: u32::try_from(program.resources.memory).unwrap_or(u32::MAX),
        env: environment(
            program.variables.iter().flatten(),
            program.environment.aleph_api,
        ),
        scratch_mib,
        persistent_mib,
        rootfs_mib: None,
        node_api: program.environment.aleph_api,
    })
}

/// What to run for `instance` (item hash `item_hash`).
pub async fn wanted_instance(
    node: &NodeClient,
    item_hash: &str,
    instance: &InstanceContent,
) -> Result<Wanted, SpecError> {
    let parent = &instance.rootfs.parent;
    let code_file = code_file(node, &parent.reference, parent.use_latest).await?;
    let (scratch_mib, persistent_mib) = volumes(&instance.volumes)?;
    Ok(Wanted {
        item_hash: item_hash.to_owned(),
        code_file,
        entrypoint: INSTANCE_START.into(),
        vcpus: instance.resources.vcpus.max(1),
        memory_mib: u32::try_from(instance.resources.memory).unwrap_or(u32::MAX),
        env: environment(
            instance.variables.iter().flatten(),
            instance.environment.aleph_api,
        ),
        scratch_mib,
        persistent_mib,
        rootfs_mib: Some(instance.rootfs.size_mib),
        node_api: instance.environment.aleph_api,
    })
}

fn environment<'a>(
    variables: impl IntoIterator<Item = (&'a String, &'a String)>,
    node_api: bool,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = variables
        .into_iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.push(("PORT".into(), PORT.to_string()));
    if node_api {
        let host = NODE_API_GUEST.trim_end_matches(":80");
        env.push(("AETHER_NODE_URL".into(), format!("http://{host}")));
    }
    env
}

/// Scratch and persistent MiB of the extra volumes; immutable ones are
/// refused.
fn volumes(list: &[MachineVolume]) -> Result<(Option<u64>, Option<u64>), SpecError> {
    let mut scratch_mib = None;
    let mut persistent_mib = None;
    for volume in list {
        match volume {
            MachineVolume::Ephemeral(v) => {
                scratch_mib = Some(scratch_mib.unwrap_or(0) + v.size_mib);
            }
            MachineVolume::Persistent(v) => {
                persistent_mib = Some(persistent_mib.unwrap_or(0) + v.size_mib);
            }
            MachineVolume::Immutable(v) => {
                return Err(SpecError::Unsupported(format!(
                    "immutable volume {} (only the code volume is mounted)",
                    v.reference
                )))
            }
        }
    }
    Ok((scratch_mib, persistent_mib))
}
