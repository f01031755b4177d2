//! The guest runtime: given, or built once under `<data-dir>/runtimes`.

use std::path::{Path, PathBuf};

use aether_vm_host::runtime::{self, RuntimeInputs};

use crate::error::part;
use crate::{ClusterError, RuntimeSource};

/// The runtime directory: given, or built under `<data>/runtimes`.
pub(crate) async fn prepare_runtime(
    source: &RuntimeSource,
    data: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<PathBuf, ClusterError> {
    let (agent, kernel_deb, busybox) = match source {
        RuntimeSource::Dir(dir) => return Ok(dir.clone()),
        RuntimeSource::Build {
            agent,
            kernel_deb,
            busybox,
        } => (agent.clone(), kernel_deb.clone(), busybox.clone()),
    };
    if !agent.exists() {
        return Err(ClusterError::NoAgent(agent));
    }
    let out = data.join("runtimes");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let build = tokio::task::spawn_blocking(move || {
        runtime::build(
            &RuntimeInputs {
                kernel_deb,
                busybox,
                agent,
            },
            &out,
            &mut |step| {
                let _ = tx.send(step.to_string());
            },
        )
    });
    while let Some(step) = rx.recv().await {
        progress(&format!("guest runtime: {step}"));
    }
    let built = build
        .await
        .map_err(part("the guest runtime"))?
        .map_err(part("the guest runtime"))?;
    Ok(built.dir)
}
