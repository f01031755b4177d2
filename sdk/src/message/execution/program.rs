//! The content of a PROGRAM: a function's code, runtime, data and
//! triggers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::validate::executable_of;
use super::{
    some_false, yes, Encoding, FunctionEnvironment, HostRequirements, Interface, MachineResources,
    MachineType, MachineVolume,
};
use crate::message::content::Payment;
use crate::message::{check_item_hash, MessageError};

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

impl ProgramContent {
    pub(crate) fn validate(&self) -> Result<(), MessageError> {
        executable_of!(self).validate()?;
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
