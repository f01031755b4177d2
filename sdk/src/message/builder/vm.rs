//! Builders of the content of PROGRAM and INSTANCE messages.

use super::{finish, ContentBuilder};
use crate::message::{
    CodeContent, Content, Encoding, FunctionEnvironment, FunctionRuntime, FunctionTriggers,
    HypervisorType, InstanceContent, InstanceEnvironment, MachineResources, MachineType,
    MachineVolume, MessageError, ParentVolume, Payment, ProgramContent, RootfsVolume,
    VolumePersistence,
};

/// What the PROGRAM and INSTANCE builders do alike. A macro, not a trait:
/// the setters stay inherent methods (no import needed to call them), and
/// the two contents, though distinct types, name these fields the same.
macro_rules! vm_builder_common {
    ($builder:ident, $content:ident, $variant:ident) => {
        impl $builder {
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
            pub fn with(mut self, edit: impl FnOnce(&mut $content)) -> Self {
                edit(&mut self.content);
                self
            }
        }

        impl ContentBuilder for $builder {
            fn into_content(mut self, address: &str, time: f64) -> Result<Content, MessageError> {
                self.content.address = address.to_string();
                self.content.time = time;
                finish(Content::$variant(Box::new(self.content)))
            }
        }
    };
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
    /// Lets the owner amend it.
    pub fn allow_amend(mut self, allow: bool) -> Self {
        self.content.allow_amend = allow;
        self
    }
}

vm_builder_common!(ProgramBuilder, ProgramContent, Program);

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
    /// An SSH key allowed in.
    pub fn authorized_key(mut self, key: impl Into<String>) -> Self {
        self.content
            .authorized_keys
            .get_or_insert_with(Vec::new)
            .push(key.into());
        self
    }
}

vm_builder_common!(InstanceBuilder, InstanceContent, Instance);
