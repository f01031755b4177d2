//! The checks PROGRAM and INSTANCE content share: base fields, metadata,
//! keys and variables, resources, node requirements and volumes.

use serde_json::{Map, Value};

use super::{
    HostRequirements, MachineResources, MachineVolume, NodeRequirements, MAX_ENTRIES,
    MAX_EPHEMERAL_MIB, MAX_MEMORY_MIB, MAX_PERSISTENT_MIB, MAX_SECONDS, MAX_VCPUS, MAX_VOLUMES,
};
use crate::message::content::{check_base, check_tags};
use crate::message::{check_item_hash, MessageError};

/// The fields PROGRAM and INSTANCE content have in common, borrowed.
pub(super) struct Executable<'a> {
    pub(super) address: &'a str,
    pub(super) time: f64,
    pub(super) metadata: &'a Option<Map<String, Value>>,
    pub(super) authorized_keys: &'a Option<Vec<String>>,
    pub(super) variables: &'a Option<indexmap::IndexMap<String, String>>,
    pub(super) resources: &'a MachineResources,
    pub(super) requirements: &'a Option<HostRequirements>,
    pub(super) volumes: &'a [MachineVolume],
    pub(super) replaces: &'a Option<String>,
}

/// The [`Executable`] view of `$content`, a `ProgramContent` or an
/// `InstanceContent`: a macro because the two types are distinct but name
/// these fields alike.
macro_rules! executable_of {
    ($content:expr) => {
        $crate::message::execution::validate::Executable {
            address: &$content.address,
            time: $content.time,
            metadata: &$content.metadata,
            authorized_keys: &$content.authorized_keys,
            variables: &$content.variables,
            resources: &$content.resources,
            requirements: &$content.requirements,
            volumes: &$content.volumes,
            replaces: &$content.replaces,
        }
    };
}
pub(super) use executable_of;

impl Executable<'_> {
    /// Checks the shared fields. Only the first fault is reported, so the
    /// order of the checks is part of what callers see.
    pub(super) fn validate(&self) -> Result<(), MessageError> {
        check_base(self.address, self.time)?;
        if let Some(metadata) = self.metadata {
            check_metadata(metadata)?;
        }
        check_keys_and_variables(self.authorized_keys, self.variables)?;
        check_resources(self.resources)?;
        if let Some(node) = self.requirements.as_ref().and_then(|r| r.node.as_ref()) {
            check_node(node)?;
        }
        check_volumes(self.volumes)?;
        if self.replaces.as_ref().is_some_and(|r| r.len() > 128) {
            return Err(MessageError::invalid(
                "content.replaces",
                "at most 128 characters",
            ));
        }
        Ok(())
    }
}

/// `value` is within 1 to `max`, or `field` is invalid with "1 to
/// {max}{unit}": every size and count limit of a VM reads this way.
pub(super) fn check_range<T>(
    field: impl Into<String>,
    value: T,
    max: T,
    unit: &str,
) -> Result<(), MessageError>
where
    T: PartialOrd + Copy + From<u8> + std::fmt::Display,
{
    if (T::from(1)..=max).contains(&value) {
        return Ok(());
    }
    Err(MessageError::invalid(field, format!("1 to {max}{unit}")))
}

/// Metadata: at most [`MAX_ENTRIES`], short keys, scalar values (or tags).
fn check_metadata(metadata: &Map<String, Value>) -> Result<(), MessageError> {
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
    Ok(())
}

/// SSH keys and environment variables: how many, and how long.
fn check_keys_and_variables(
    authorized_keys: &Option<Vec<String>>,
    variables: &Option<indexmap::IndexMap<String, String>>,
) -> Result<(), MessageError> {
    if let Some(keys) = authorized_keys {
        if keys.len() > MAX_ENTRIES || keys.iter().any(|k| k.len() > 8192) {
            return Err(MessageError::invalid(
                "content.authorized_keys",
                format!("at most {MAX_ENTRIES} keys of at most 8192 characters"),
            ));
        }
    }
    if let Some(variables) = variables {
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
    Ok(())
}

/// vCPUs, memory, run time and published ports.
fn check_resources(r: &MachineResources) -> Result<(), MessageError> {
    check_range("content.resources.vcpus", r.vcpus, MAX_VCPUS, "")?;
    check_range("content.resources.memory", r.memory, MAX_MEMORY_MIB, " MiB")?;
    check_range(
        "content.resources.seconds",
        r.seconds,
        MAX_SECONDS,
        " seconds",
    )?;
    for (i, port) in r.published_ports.iter().flatten().enumerate() {
        if port.port == 0 {
            return Err(MessageError::invalid(
                format!("content.resources.published_ports[{i}].port"),
                "1 to 65535",
            ));
        }
    }
    Ok(())
}

/// The node the VM must run on: a real hash, a bounded pattern.
fn check_node(node: &NodeRequirements) -> Result<(), MessageError> {
    if let Some(hash) = &node.node_hash {
        check_item_hash("content.requirements.node.node_hash", hash)?;
    }
    if node.address_regex.as_ref().is_some_and(|r| r.len() > 256) {
        return Err(MessageError::invalid(
            "content.requirements.node.address_regex",
            "at most 256 characters",
        ));
    }
    Ok(())
}

/// How many volumes, and each one's reference and size.
fn check_volumes(volumes: &[MachineVolume]) -> Result<(), MessageError> {
    if volumes.len() > MAX_VOLUMES {
        return Err(MessageError::invalid(
            "content.volumes",
            format!("at most {MAX_VOLUMES} volumes"),
        ));
    }
    for (i, volume) in volumes.iter().enumerate() {
        let field = format!("content.volumes[{i}]");
        match volume {
            MachineVolume::Immutable(v) => check_item_hash(&format!("{field}.ref"), &v.reference)?,
            MachineVolume::Ephemeral(v) => {
                if !v.ephemeral {
                    return Err(MessageError::invalid(
                        format!("{field}.ephemeral"),
                        "must be true",
                    ));
                }
                check_range(
                    format!("{field}.size_mib"),
                    v.size_mib,
                    MAX_EPHEMERAL_MIB,
                    "",
                )?;
            }
            MachineVolume::Persistent(v) => {
                check_range(
                    format!("{field}.size_mib"),
                    v.size_mib,
                    MAX_PERSISTENT_MIB,
                    "",
                )?;
                if let Some(parent) = &v.parent {
                    check_item_hash(&format!("{field}.parent.ref"), &parent.reference)?;
                }
            }
        }
    }
    Ok(())
}
