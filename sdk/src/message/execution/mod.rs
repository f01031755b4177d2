//! The content of PROGRAM and INSTANCE messages: what to run, on what
//! resources, with which volumes, and how it is paid.
//!
//! - `machine`: environments, resources and host requirements;
//! - `volumes`: the volumes a VM mounts;
//! - `program` and `instance`: the two contents;
//! - `validate`: the checks both contents share.

mod instance;
mod machine;
mod program;
mod validate;
mod volumes;

pub use instance::InstanceContent;
pub use machine::{
    ConfidentialGpu, CpuProperties, FunctionEnvironment, GpuProperties, HostRequirements,
    InstanceEnvironment, LaunchMeasurement, MachineResources, MeasurementRegisters,
    NodeRequirements, PublishedPort, TrustedExecution,
};
pub use program::{
    CodeContent, DataContent, Export, FunctionRuntime, FunctionTriggers, ProgramContent,
};
pub use volumes::{
    EphemeralVolume, ImmutableVolume, MachineVolume, ParentVolume, PersistentVolume, RootfsVolume,
};

use serde::{Deserialize, Serialize};

use super::string_enum;

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

// Serde defaults of the fields of the submodules' types.
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
