//! The content of PROGRAM and INSTANCE messages: what to run, on what
//! resources, with which volumes, and how it is paid.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::content::{check_base, check_tags, Payment, PaymentType};
use super::{check_item_hash, string_enum, MessageError};

/// Most vCPUs a VM may ask for.
pub const MAX_VCPUS: u32 = 256;
/// Most memory a VM may ask for, in MiB.
pub const MAX_MEMORY_MIB: u64 = 1_048_576;
/// Longest run of a function, in seconds (ten years).
pub const MAX_SECONDS: u64 = 315_360_000;
/// Largest ephemeral volume, in MiB.
pub const MAX_EPHEMERAL_MIB: u64 = 1000;
/// Largest persistent volume, in MiB (2,048 GB).
pub const MAX_PERSISTENT_MIB: u64 = 1_953_125;
/// Most volumes of one VM.
pub const MAX_VOLUMES: usize = 256;
/// Most entries in `metadata`, `variables` and `authorized_keys`.
pub const MAX_ENTRIES: usize = 256;

string_enum! {
    /// How a code or data volume is packed.
    Encoding { /// A plain file.
        Plain = "plain", /// A zip archive.
        Zip = "zip", /// A squashfs image.
        Squashfs = "squashfs" }
}

string_enum! {
    /// A function or an instance.
    MachineType { /// A long-running VM.
        Instance = "vm-instance", /// A VM started on request.
        Function = "vm-function" }
}

string_enum! {
    /// How the runtime talks to the code.
    Interface { /// An ASGI application (`module:app`).
        Asgi = "asgi", /// An executable serving HTTP.
        Binary = "binary" }
}

string_enum! {
    /// Where a persistent volume lives.
    VolumePersistence { /// On the host that runs the VM.
        Host = "host", /// Stored on the network.
        Store = "store" }
}

string_enum! {
    /// Transport of a published port.
    NetworkProtocol { /// TCP.
        Tcp = "tcp", /// UDP.
        Udp = "udp" }
}

string_enum! {
    /// The hypervisor an instance asks for.
    HypervisorType { /// QEMU.
        Qemu = "qemu", /// Firecracker.
        Firecracker = "firecracker" }
}

string_enum! {
    /// A platform of confidential computing.
    TeePlatform { /// AMD SEV-SNP.
        SevSnp = "sev_snp", /// Intel TDX.
        Tdx = "tdx" }
}

fn yes() -> bool {
    true
}
fn one_u32() -> u32 {
    1
}
fn one_u64() -> u64 {
    1
}
fn mib_128() -> u64 {
    128
}
fn some_false() -> Option<bool> {
    Some(false)
}

/// What a function's VM may do.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct FunctionEnvironment {
    /// Whether runs must be reproducible.
    #[serde(default)]
    pub reproducible: bool,
    /// Whether the VM reaches the internet.
    #[serde(default)]
    pub internet: bool,
    /// Whether the VM reaches the core node's API.
    #[serde(default)]
    pub aleph_api: bool,
    /// Whether the VM shares the host's cache.
    #[serde(default)]
    pub shared_cache: bool,
}

/// What an instance's VM may do, and where it runs.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct InstanceEnvironment {
    /// Whether the VM reaches the internet.
    #[serde(default)]
    pub internet: bool,
    /// Whether the VM reaches the core node's API.
    #[serde(default)]
    pub aleph_api: bool,
    /// The hypervisor (QEMU when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypervisor: Option<HypervisorType>,
    /// Confidential computing settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_execution: Option<TrustedExecution>,
    /// Whether runs must be reproducible.
    #[serde(default)]
    pub reproducible: bool,
    /// Whether the VM shares the host's cache.
    #[serde(default)]
    pub shared_cache: bool,
}

/// Confidential computing settings of an instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedExecution {
    /// Firmware image (legacy SEV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// Platform policy bits.
    #[serde(default = "one_u64")]
    pub policy: u64,
    /// `sev`, `sev_snp` or `tdx`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Measured runtime image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Expected launch measurements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measurements: Option<Vec<LaunchMeasurement>>,
    /// Port of the attestation service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_port: Option<u16>,
    /// A confidential GPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<ConfidentialGpu>,
}

/// An expected launch measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaunchMeasurement {
    /// The platform.
    pub platform: TeePlatform,
    /// Its registers.
    pub registers: MeasurementRegisters,
    /// The vCPU type measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcpu_type: Option<String>,
}

/// Measurement registers, per platform (96 hex digits each).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MeasurementRegisters {
    /// SEV-SNP.
    SevSnp {
        /// The launch digest.
        launch: String,
    },
    /// TDX.
    Tdx {
        /// MRTD.
        mrtd: String,
        /// RTMR1.
        rtmr1: String,
        /// RTMR2.
        rtmr2: String,
        /// MRCONFIGID.
        mrconfigid: String,
    },
}

/// A confidential GPU requirement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfidentialGpu {
    /// `nvidia`.
    pub vendor: String,
    /// `hopper` or `blackwell`.
    pub arch: String,
    /// 1 to 8.
    pub count: u8,
    /// `vendor:device` ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// `cc`.
    pub mode: String,
}

/// A port of the VM published on the host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// TCP or UDP.
    #[serde(default = "tcp")]
    pub protocol: NetworkProtocol,
    /// 1 to 65535.
    pub port: u16,
}

fn tcp() -> NetworkProtocol {
    NetworkProtocol::Tcp
}

/// The VM's size and time limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineResources {
    /// vCPUs (1 to 256).
    #[serde(default = "one_u32")]
    pub vcpus: u32,
    /// Memory in MiB.
    #[serde(default = "mib_128")]
    pub memory: u64,
    /// Longest run in seconds.
    #[serde(default = "one_u64")]
    pub seconds: u64,
    /// Ports published on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_ports: Option<Vec<PublishedPort>>,
}

impl Default for MachineResources {
    fn default() -> Self {
        MachineResources {
            vcpus: 1,
            memory: 128,
            seconds: 1,
            published_ports: None,
        }
    }
}

/// What the host must have.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRequirements {
    /// CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuProperties>,
    /// Which node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeRequirements>,
    /// GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<Vec<GpuProperties>>,
}

/// CPU requirements.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuProperties {
    /// `x86_64` or `arm64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// `AuthenticAMD`, `GenuineIntel`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// CPU feature flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
}

/// Which node may run the VM.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRequirements {
    /// The node's owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// A pattern on the node's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_regex: Option<String>,
    /// One node, by hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_hash: Option<String>,
    /// The node's terms the user accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_and_conditions: Option<String>,
}

/// A GPU the host must have.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuProperties {
    /// Vendor.
    pub vendor: String,
    /// Device name.
    pub device_name: String,
    /// PCI class: `0300` or `0302`.
    pub device_class: String,
    /// `vendor:device` id.
    pub device_id: String,
}

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

/// The code of a function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodeContent {
    /// How it is packed.
    pub encoding: Encoding,
    /// What to run: `module:app` (ASGI) or a command.
    pub entrypoint: String,
    /// The STORE message of the code volume.
    #[serde(rename = "ref")]
    pub reference: String,
    /// How the runtime talks to it (inferred when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<Interface>,
    /// Arguments of a binary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Follow amendments of `ref`.
    #[serde(default)]
    pub use_latest: bool,
}

impl CodeContent {
    /// The interface, or the one the entrypoint implies (`:` means ASGI).
    pub fn inferred_interface(&self) -> Interface {
        self.interface.unwrap_or(if self.entrypoint.contains(':') {
            Interface::Asgi
        } else {
            Interface::Binary
        })
    }
}

/// The runtime image a function boots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionRuntime {
    /// The STORE message of the runtime image.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Follow amendments of `ref`.
    #[serde(default = "yes")]
    pub use_latest: bool,
    /// For people.
    pub comment: String,
}

/// Data mounted into a function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataContent {
    /// How it is packed.
    pub encoding: Encoding,
    /// Where the guest mounts it.
    pub mount: String,
    /// The STORE message of the data.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Follow amendments of `ref`.
    #[serde(default = "some_false", skip_serializing_if = "Option::is_none")]
    pub use_latest: Option<bool>,
}

/// Data a function exports when it stops.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Export {
    /// How it is packed.
    pub encoding: Encoding,
    /// The guest directory exported.
    pub mount: String,
}

/// What starts a function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionTriggers {
    /// HTTP requests to `/vm/<item_hash>/…`.
    pub http: bool,
    /// Messages matching these filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Vec<Map<String, Value>>>,
    /// Keep it running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent: Option<bool>,
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

/// A function: code run in a micro-VM on request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramContent {
    /// The owner.
    pub address: String,
    /// Unix time in seconds.
    pub time: f64,
    /// Whether the owner may amend it.
    pub allow_amend: bool,
    /// Free-form metadata (scalar values only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// SSH keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_keys: Option<Vec<String>>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<indexmap::IndexMap<String, String>>,
    /// What the VM may do.
    pub environment: FunctionEnvironment,
    /// Size and time limit.
    pub resources: MachineResources,
    /// How it is paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    /// What the host must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements: Option<HostRequirements>,
    /// Extra volumes.
    #[serde(default)]
    pub volumes: Vec<MachineVolume>,
    /// The program this one replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// Always `vm-function`.
    #[serde(rename = "type")]
    pub machine_type: MachineType,
    /// The code.
    pub code: CodeContent,
    /// The runtime image.
    pub runtime: FunctionRuntime,
    /// Data mounted in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataContent>,
    /// Data exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<Export>,
    /// What starts it.
    pub on: FunctionTriggers,
}

/// A long-running micro-VM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceContent {
    /// The owner.
    pub address: String,
    /// Unix time in seconds.
    pub time: f64,
    /// Whether the owner may amend it.
    pub allow_amend: bool,
    /// Free-form metadata (scalar values only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// SSH keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_keys: Option<Vec<String>>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<indexmap::IndexMap<String, String>>,
    /// What the VM may do.
    pub environment: InstanceEnvironment,
    /// Size and time limit.
    pub resources: MachineResources,
    /// How it is paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    /// What the host must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements: Option<HostRequirements>,
    /// Extra volumes.
    #[serde(default)]
    pub volumes: Vec<MachineVolume>,
    /// The instance this one replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// The root filesystem.
    pub rootfs: RootfsVolume,
}

struct Executable<'a> {
    address: &'a str,
    time: f64,
    metadata: &'a Option<Map<String, Value>>,
    authorized_keys: &'a Option<Vec<String>>,
    variables: &'a Option<indexmap::IndexMap<String, String>>,
    resources: &'a MachineResources,
    requirements: &'a Option<HostRequirements>,
    volumes: &'a [MachineVolume],
    replaces: &'a Option<String>,
}

impl Executable<'_> {
    fn validate(&self) -> Result<(), MessageError> {
        check_base(self.address, self.time)?;
        if let Some(metadata) = self.metadata {
            if metadata.len() > MAX_ENTRIES {
                return Err(MessageError::invalid(
                    "content.metadata",
                    format!("at most {MAX_ENTRIES} entries"),
                ));
            }
            for (key, value) in metadata {
                let field = format!("content.metadata.{key}");
                if key.chars().count() > 64 {
                    return Err(MessageError::invalid(
                        field,
                        "keys are at most 64 characters",
                    ));
                }
                match value {
                    Value::Array(_) if key == "tags" => {
                        let tags: Vec<String> = serde_json::from_value(value.clone())
                            .map_err(|_| MessageError::invalid(&field, "tags are strings"))?;
                        check_tags(&field, &tags)?;
                    }
                    Value::String(s) if s.chars().count() > 512 => {
                        return Err(MessageError::invalid(
                            field,
                            "values are at most 512 characters",
                        ))
                    }
                    Value::Array(_) | Value::Object(_) => {
                        return Err(MessageError::invalid(
                            field,
                            "values are scalars (string, number, bool, null)",
                        ))
                    }
                    _ => {}
                }
            }
        }
        if let Some(keys) = self.authorized_keys {
            if keys.len() > MAX_ENTRIES || keys.iter().any(|k| k.len() > 8192) {
                return Err(MessageError::invalid(
                    "content.authorized_keys",
                    format!("at most {MAX_ENTRIES} keys of at most 8192 characters"),
                ));
            }
        }
        if let Some(variables) = self.variables {
            if variables.len() > MAX_ENTRIES
                || variables
                    .iter()
                    .any(|(k, v)| k.chars().count() > 128 || v.chars().count() > 4096)
            {
                return Err(MessageError::invalid(
                    "content.variables",
                    format!("at most {MAX_ENTRIES} variables, names up to 128 and values up to 4096 characters"),
                ));
            }
        }
        let r = self.resources;
        if !(1..=MAX_VCPUS).contains(&r.vcpus) {
            return Err(MessageError::invalid(
                "content.resources.vcpus",
                format!("1 to {MAX_VCPUS}"),
            ));
        }
        if !(1..=MAX_MEMORY_MIB).contains(&r.memory) {
            return Err(MessageError::invalid(
                "content.resources.memory",
                format!("1 to {MAX_MEMORY_MIB} MiB"),
            ));
        }
        if !(1..=MAX_SECONDS).contains(&r.seconds) {
            return Err(MessageError::invalid(
                "content.resources.seconds",
                format!("1 to {MAX_SECONDS} seconds"),
            ));
        }
        for (i, port) in r.published_ports.iter().flatten().enumerate() {
            if port.port == 0 {
                return Err(MessageError::invalid(
                    format!("content.resources.published_ports[{i}].port"),
                    "1 to 65535",
                ));
            }
        }
        if let Some(node) = self.requirements.as_ref().and_then(|r| r.node.as_ref()) {
            if let Some(hash) = &node.node_hash {
                check_item_hash("content.requirements.node.node_hash", hash)?;
            }
            if node.address_regex.as_ref().is_some_and(|r| r.len() > 256) {
                return Err(MessageError::invalid(
                    "content.requirements.node.address_regex",
                    "at most 256 characters",
                ));
            }
        }
        if self.volumes.len() > MAX_VOLUMES {
            return Err(MessageError::invalid(
                "content.volumes",
                format!("at most {MAX_VOLUMES} volumes"),
            ));
        }
        for (i, volume) in self.volumes.iter().enumerate() {
            let field = format!("content.volumes[{i}]");
            match volume {
                MachineVolume::Immutable(v) => {
                    check_item_hash(&format!("{field}.ref"), &v.reference)?
                }
                MachineVolume::Ephemeral(v) => {
                    if !v.ephemeral {
                        return Err(MessageError::invalid(
                            format!("{field}.ephemeral"),
                            "must be true",
                        ));
                    }
                    if !(1..=MAX_EPHEMERAL_MIB).contains(&v.size_mib) {
                        return Err(MessageError::invalid(
                            format!("{field}.size_mib"),
                            format!("1 to {MAX_EPHEMERAL_MIB}"),
                        ));
                    }
                }
                MachineVolume::Persistent(v) => {
                    if !(1..=MAX_PERSISTENT_MIB).contains(&v.size_mib) {
                        return Err(MessageError::invalid(
                            format!("{field}.size_mib"),
                            format!("1 to {MAX_PERSISTENT_MIB}"),
                        ));
                    }
                    if let Some(parent) = &v.parent {
                        check_item_hash(&format!("{field}.parent.ref"), &parent.reference)?;
                    }
                }
            }
        }
        if self.replaces.as_ref().is_some_and(|r| r.len() > 128) {
            return Err(MessageError::invalid(
                "content.replaces",
                "at most 128 characters",
            ));
        }
        Ok(())
    }
}

impl ProgramContent {
    pub(crate) fn validate(&self) -> Result<(), MessageError> {
        Executable {
            address: &self.address,
            time: self.time,
            metadata: &self.metadata,
            authorized_keys: &self.authorized_keys,
            variables: &self.variables,
            resources: &self.resources,
            requirements: &self.requirements,
            volumes: &self.volumes,
            replaces: &self.replaces,
        }
        .validate()?;
        if self.machine_type != MachineType::Function {
            return Err(MessageError::invalid(
                "content.type",
                "a PROGRAM is a \"vm-function\"",
            ));
        }
        check_item_hash("content.code.ref", &self.code.reference)?;
        check_item_hash("content.runtime.ref", &self.runtime.reference)?;
        if let Some(data) = &self.data {
            check_item_hash("content.data.ref", &data.reference)?;
        }
        Ok(())
    }
}

impl InstanceContent {
    pub(crate) fn validate(&self) -> Result<(), MessageError> {
        Executable {
            address: &self.address,
            time: self.time,
            metadata: &self.metadata,
            authorized_keys: &self.authorized_keys,
            variables: &self.variables,
            resources: &self.resources,
            requirements: &self.requirements,
            volumes: &self.volumes,
            replaces: &self.replaces,
        }
        .validate()?;
        check_item_hash("content.rootfs.parent.ref", &self.rootfs.parent.reference)?;
        if !(1..=MAX_PERSISTENT_MIB).contains(&self.rootfs.size_mib) {
            return Err(MessageError::invalid(
                "content.rootfs.size_mib",
                format!("1 to {MAX_PERSISTENT_MIB}"),
            ));
        }
        if let Some(te) = &self.environment.trusted_execution {
            if self.environment.hypervisor != Some(HypervisorType::Qemu) {
                return Err(MessageError::invalid(
                    "content.environment.hypervisor",
                    "trusted execution needs the qemu hypervisor",
                ));
            }
            if matches!(te.mode.as_deref(), Some("sev_snp" | "tdx"))
                && self.payment.as_ref().map(|p| p.payment_type) != Some(PaymentType::Credit)
            {
                return Err(MessageError::invalid(
                    "content.payment.type",
                    "measured confidential VMs are paid by credit",
                ));
            }
        }
        if let Some(req) = &self.requirements {
            let payg =
                self.payment.as_ref().map(|p| p.payment_type) == Some(PaymentType::Superfluid);
            let node_hash = req.node.as_ref().and_then(|n| n.node_hash.as_ref());
            if payg && node_hash.is_none() {
                return Err(MessageError::missing("content.requirements.node.node_hash"));
            }
        }
        Ok(())
    }
}
