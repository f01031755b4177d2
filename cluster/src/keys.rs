//! The keypair files `up` makes once under `<data-dir>/keys`.

use std::path::{Path, PathBuf};

use solana_keypair::Keypair;

use crate::{dir, ClusterError};

/// The keypair files `up` made and funded.
#[derive(Clone, Debug)]
pub struct Keys {
    /// The dApp developer's and wallet holder's key.
    pub wallet: PathBuf,
    /// The core node operator: staked, registered, runs the keepers.
    pub core_operator: PathBuf,
    /// Own the resource nodes, one each.
    pub resource_owners: Vec<PathBuf>,
    /// The resource nodes' identities.
    pub resource_identities: Vec<PathBuf>,
    /// The localnet's bootstrap authority (mint and configs).
    pub authority: PathBuf,
}

impl Keys {
    /// The keypair files under `<data>/keys` (and the bootstrap authority's
    /// in the ledger), for `resource_nodes` resource nodes.
    pub(crate) fn under(data: &Path, resource_nodes: usize) -> Result<Keys, ClusterError> {
        let key_dir = dir(data.join("keys"))?;
        Ok(Keys {
            wallet: key_dir.join("wallet.json"),
            core_operator: key_dir.join("core-operator.json"),
            resource_owners: (0..resource_nodes)
                .map(|i| key_dir.join(format!("resource-owner{}.json", suffix(i))))
                .collect(),
            resource_identities: (0..resource_nodes)
                .map(|i| key_dir.join(format!("resource-identity{}.json", suffix(i))))
                .collect(),
            authority: data.join("localnet").join("authority.json"),
        })
    }
}

/// "" for the first resource node, "-2", "-3"… for the others (so that a
/// one-node cluster's files keep their plain names).
pub(crate) fn suffix(i: usize) -> String {
    if i == 0 {
        String::new()
    } else {
        format!("-{}", i + 1)
    }
}

/// A keypair file: read when it exists, otherwise made (mode 0600).
pub(crate) fn keypair_file(path: &Path) -> Result<Keypair, ClusterError> {
    if path.exists() {
        return solana_keypair::read_keypair_file(path)
            .map_err(|e| ClusterError::Keypair(path.to_path_buf(), e.to_string()));
    }
    let key = Keypair::new();
    solana_keypair::write_keypair_file(&key, path)
        .map_err(|e| ClusterError::Keypair(path.to_path_buf(), e.to_string()))?;
    Ok(key)
}
