//! Which hypervisor backend to use, and which work on this host.

use crate::hypervisor::{Backend, CloudHypervisor, Qemu};
use crate::kvm;

/// Which hypervisor to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// cloud-hypervisor where it works, QEMU otherwise.
    #[default]
    Auto,
    /// QEMU.
    Qemu,
    /// cloud-hypervisor.
    CloudHypervisor,
}

impl std::str::FromStr for BackendChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "qemu" => Ok(BackendChoice::Qemu),
            "cloud-hypervisor" => Ok(BackendChoice::CloudHypervisor),
            other => Err(format!(
                "unknown backend {other:?}: auto, qemu or cloud-hypervisor"
            )),
        }
    }
}

impl BackendChoice {
    /// Its name in settings: `auto`, `qemu` or `cloud-hypervisor`.
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Qemu => "qemu",
            BackendChoice::CloudHypervisor => "cloud-hypervisor",
        }
    }
}

// Settings write the choice by name and read it through `FromStr`, so that
// a bad one is refused with the same words on the command line and in a
// file.
impl serde::Serialize for BackendChoice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for BackendChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for BackendChoice {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "BackendChoice".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }

    fn inline_schema() -> bool {
        true
    }
}

/// What one backend can do on this host.
#[derive(Clone, Debug)]
pub struct BackendReport {
    /// Its name.
    pub name: &'static str,
    /// Usable here.
    pub works: bool,
    /// How it would run, or why not.
    pub detail: String,
}

/// Which backends work on this host and why not (`aether crn doctor`).
pub fn doctor() -> Vec<BackendReport> {
    let kvm = match kvm::detect() {
        kvm::Kvm::Usable => "KVM".to_string(),
        kvm::Kvm::Unusable(why) => format!("TCG software emulation ({why})"),
    };
    let report = |name, found: Result<String, String>| BackendReport {
        name,
        works: found.is_ok(),
        detail: found.unwrap_or_else(|why| why),
    };
    vec![
        report(
            "cloud-hypervisor",
            CloudHypervisor::detect().map(|ch| format!("{} with KVM", ch.binary.display())),
        ),
        report(
            "qemu",
            Qemu::detect().map(|q| format!("{} microvm under {kvm}", q.binary.display())),
        ),
    ]
}

/// The backend `choice` names, if it works here.
pub fn backend(choice: BackendChoice) -> Result<Backend, String> {
    match choice {
        BackendChoice::Qemu => Qemu::detect().map(Backend::Qemu),
        BackendChoice::CloudHypervisor => CloudHypervisor::detect().map(Backend::CloudHypervisor),
        BackendChoice::Auto => CloudHypervisor::detect()
            .map(Backend::CloudHypervisor)
            .or_else(|_| Qemu::detect().map(Backend::Qemu)),
    }
}
