//! What a VM may do and what it runs on: environments, confidential
//! computing, resources and host requirements.

use serde::{Deserialize, Serialize};

use super::{mib_128, one_u32, one_u64, HypervisorType, NetworkProtocol, TeePlatform};

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
