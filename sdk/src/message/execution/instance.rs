//! The content of an INSTANCE: a long-running VM on its own root
//! filesystem.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::validate::{check_range, executable_of};
use super::{
    HostRequirements, HypervisorType, InstanceEnvironment, MachineResources, MachineVolume,
    RootfsVolume, MAX_PERSISTENT_MIB,
};
use crate::message::content::{Payment, PaymentType};
use crate::message::{check_item_hash, MessageError};

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

impl InstanceContent {
    pub(crate) fn validate(&self) -> Result<(), MessageError> {
        executable_of!(self).validate()?;
        check_item_hash("content.rootfs.parent.ref", &self.rootfs.parent.reference)?;
        check_range(
            "content.rootfs.size_mib",
            self.rootfs.size_mib,
            MAX_PERSISTENT_MIB,
            "",
        )?;
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
