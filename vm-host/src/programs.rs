//! Programs as `aether crn run --programs FILE` lists them, and how an
//! entry becomes a [`ProgramSpec`] (its code volume made when needed).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use serde::Deserialize;

use crate::hypervisor::{Grant, NetworkSpec};
use crate::supervisor::ProgramSpec;
use crate::volumes;

/// A program as `aether crn run --programs FILE` lists it (JSON array).
#[derive(Clone, Debug, Deserialize)]
pub struct ProgramEntry {
    /// The PROGRAM message's item hash.
    pub item_hash: String,
    /// A code volume image, a directory, or a tar archive.
    pub code: PathBuf,
    /// Run by `/bin/sh -c` in `/code`.
    pub entrypoint: String,
    /// Its HTTP port.
    pub port: u16,
    /// MiB of memory (default 256).
    #[serde(default = "default_memory")]
    pub memory_mib: u32,
    /// vCPUs (default 1).
    #[serde(default = "default_vcpus")]
    pub vcpus: u32,
    /// Environment.
    #[serde(default)]
    pub env: Vec<(String, String)>,
    /// Scratch volume, MiB.
    pub scratch_mib: Option<u64>,
    /// Persistent volume, MiB.
    pub persistent_mib: Option<u64>,
    /// Host services the guest may reach: "guest_ip:port=host:port".
    #[serde(default)]
    pub grants: Vec<String>,
    /// Makes it an instance (always on): `code` is then the image of its
    /// root file system, grown to this many MiB, and `entrypoint` runs
    /// inside it.
    #[serde(default)]
    pub rootfs_mib: Option<u64>,
}

fn default_memory() -> u32 {
    256
}
fn default_vcpus() -> u32 {
    1
}

/// Largest code volume made from a directory or archive.
pub const MAX_CODE_BYTES: u64 = 1 << 30;

impl ProgramEntry {
    /// The spec, making the code volume under `dir` when given a directory
    /// or an archive.
    pub fn into_spec(self, dir: &std::path::Path) -> Result<ProgramSpec, String> {
        let code = if self.code.is_dir() {
            let out = dir.join(format!("{}.ext4", self.item_hash));
            volumes::code_volume_from_dir(&self.code, &out, MAX_CODE_BYTES)
                .map_err(|e| e.to_string())?;
            out
        } else if volumes::fs_type(&self.code).is_ok() {
            self.code.clone()
        } else {
            let out = dir.join(format!("{}.ext4", self.item_hash));
            volumes::code_volume_from_archive(&self.code, &out, MAX_CODE_BYTES)
                .map_err(|e| e.to_string())?;
            out
        };
        let grants = self
            .grants
            .iter()
            .map(|g| parse_grant(g))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProgramSpec {
            code,
            entrypoint: self.entrypoint,
            port: self.port,
            memory_mib: self.memory_mib,
            vcpus: self.vcpus,
            env: self.env,
            scratch_mib: self.scratch_mib,
            persistent_mib: self.persistent_mib,
            network: (!grants.is_empty()).then_some(NetworkSpec { grants }),
            rootfs_mib: self.rootfs_mib,
        })
    }
}

/// "10.0.2.100:8899=127.0.0.1:8899" → a [`Grant`].
pub fn parse_grant(text: &str) -> Result<Grant, String> {
    let (guest, host) = text
        .split_once('=')
        .ok_or_else(|| format!("grant {text:?}: expected guest_ip:port=host:port"))?;
    let guest: SocketAddr = guest
        .parse()
        .map_err(|e| format!("grant {text:?}: guest address: {e}"))?;
    let host: SocketAddr = host
        .parse()
        .map_err(|e| format!("grant {text:?}: host address: {e}"))?;
    let IpAddr::V4(ip) = guest.ip() else {
        return Err(format!("grant {text:?}: the guest address must be IPv4"));
    };
    Ok(Grant {
        guest: (ip, guest.port()),
        host,
    })
}
