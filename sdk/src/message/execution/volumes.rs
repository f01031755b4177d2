//! The volumes a VM mounts, and an instance's root filesystem.

use serde::{Deserialize, Serialize};

use super::{yes, VolumePersistence};

/// A read-only volume made from stored content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImmutableVolume {
    /// For people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Where the guest mounts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
    /// The STORE message (or file) it is made from.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Follow amendments of `ref`.
    #[serde(default = "yes")]
    pub use_latest: bool,
}

/// A scratch volume, empty at every start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EphemeralVolume {
    /// For people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Where the guest mounts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
    /// Always true.
    #[serde(default = "yes")]
    pub ephemeral: bool,
    /// Size in MiB (1 to 1000).
    pub size_mib: u64,
}

/// The volume a persistent volume starts from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParentVolume {
    /// Stored content.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Follow amendments of `ref`.
    #[serde(default = "yes")]
    pub use_latest: bool,
}

/// A volume kept across restarts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersistentVolume {
    /// For people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Where the guest mounts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
    /// What it starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentVolume>,
    /// Where it is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<VolumePersistence>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Size in MiB.
    pub size_mib: u64,
}

/// A volume of a VM. As in the specification, `{"size_mib": n}` alone is
/// an ephemeral volume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MachineVolume {
    /// Read-only, from stored content.
    Immutable(ImmutableVolume),
    /// Scratch space.
    Ephemeral(EphemeralVolume),
    /// Kept across restarts.
    Persistent(PersistentVolume),
}

/// The root filesystem of an instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RootfsVolume {
    /// The image it starts from.
    pub parent: ParentVolume,
    /// Where it is kept.
    pub persistence: VolumePersistence,
    /// Size in MiB.
    pub size_mib: u64,
    /// Set by the node when the image was forgotten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forgotten_by: Option<Vec<String>>,
}
