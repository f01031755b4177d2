//! Acting on a round's decisions: vm-host serves exactly the programs
//! wanted (code volumes fetched, specs registered, unpaid ones discarded),
//! their live custom domains are bound, and what this node serves is
//! announced.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use aether_sdk::anchor_lang::prelude::Pubkey;
use aether_sdk::message::{MessageBuilder, PostBuilder};
use aether_sdk::vm::{Announcement, ANNOUNCEMENT_TYPE};
use aether_vm_host::{Host, ProgramEntry};

use super::{blocking, Worker};
use crate::spec::{self, Wanted};
use crate::{ProvisionerError, Served};

impl Worker {
    /// Makes vm-host serve exactly `want`.
    pub(super) async fn converge(
        &self,
        want: BTreeMap<String, (Wanted, Pubkey)>,
        keep: &BTreeSet<String>,
    ) -> Result<(), ProvisionerError> {
        let current = self.serving.lock().unwrap().clone();
        let guard = self.host.lock().await;
        let Some(host) = guard.as_ref() else {
            return Ok(());
        };
        self.stop_unwanted(host, &current, &want, keep).await;
        for (hash, (wanted, stream)) in want {
            let same = current
                .get(&hash)
                .is_some_and(|s| s.code_file == wanted.code_file);
            if same {
                continue;
            }
            self.provision(host, &hash, &wanted, &stream, current.get(&hash))
                .await?;
        }
        self.metrics
            .serving
            .store(self.serving.lock().unwrap().len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Stops the programs of `current` neither wanted nor kept.
    async fn stop_unwanted(
        &self,
        host: &Host,
        current: &BTreeMap<String, Served>,
        want: &BTreeMap<String, (Wanted, Pubkey)>,
        keep: &BTreeSet<String>,
    ) {
        for (hash, served) in current {
            if !want.contains_key(hash) && !keep.contains(hash) {
                // Unpaid: its VMs stop and its kept volumes go.
                host.supervisor().discard(hash).await;
                let _ = std::fs::remove_file(self.volume_path(hash, &served.code_file));
                self.serving.lock().unwrap().remove(hash);
                self.metrics.stopped.fetch_add(1, Ordering::Relaxed);
                tracing::info!(program = %hash, "stopped serving");
            }
        }
    }

    /// Serves `hash` as `wanted`, paid by `stream`, in place of `old`; a
    /// code volume not fetched or unusable leaves it as it was (logged).
    async fn provision(
        &self,
        host: &Host,
        hash: &str,
        wanted: &Wanted,
        stream: &Pubkey,
        old: Option<&Served>,
    ) -> Result<(), ProvisionerError> {
        let span = tracing::info_span!("provision", program = %hash);
        let _enter = span.enter();
        let file = match host.volume(&self.config.node_url, &wanted.code_file).await {
            Ok(file) => file,
            Err(e) => {
                tracing::warn!(error = %e, "code volume not fetched");
                return Ok(());
            }
        };
        let entry = self.program_entry(hash, wanted, file).await;
        std::fs::create_dir_all(&self.config.work_dir)
            .map_err(|e| ProvisionerError::Io(self.config.work_dir.display().to_string(), e))?;
        let spec = match entry.into_spec(&self.config.work_dir) {
            Ok(spec) => spec,
            Err(e) => {
                tracing::warn!(error = %e, "code volume unusable");
                return Ok(());
            }
        };
        // A new spec replaces the old: running VMs finish, new requests
        // boot it; an instance boots now.
        host.supervisor().register(hash, spec);
        host.supervisor().keep_up();
        if let Some(old) = old {
            let _ = std::fs::remove_file(self.volume_path(hash, &old.code_file));
        }
        self.serving.lock().unwrap().insert(
            hash.to_owned(),
            Served {
                program: hash.to_owned(),
                code_file: wanted.code_file.clone(),
                stream: stream.to_string(),
                vcpus: wanted.vcpus,
                memory_mib: wanted.memory_mib,
            },
        );
        self.metrics.started.fetch_add(1, Ordering::Relaxed);
        tracing::info!(code = %wanted.code_file, "serving");
        Ok(())
    }

    /// What vm-host is given to serve `hash` as `wanted` from the code
    /// volume `file`.
    async fn program_entry(&self, hash: &str, wanted: &Wanted, file: PathBuf) -> ProgramEntry {
        ProgramEntry {
            item_hash: format!("{hash}-{}", short(&wanted.code_file)),
            code: file,
            entrypoint: wanted.entrypoint.clone(),
            port: spec::PORT,
            memory_mib: wanted.memory_mib,
            vcpus: wanted.vcpus,
            env: wanted.env.clone(),
            scratch_mib: wanted.scratch_mib,
            persistent_mib: wanted.persistent_mib,
            grants: match (wanted.node_api, self.node_addr().await) {
                (true, Some(node)) => vec![format!("{}={node}", spec::NODE_API_GUEST)],
                (true, None) => {
                    tracing::warn!(node = %self.config.node_url, "the core node's address does not resolve: no API access");
                    Vec::new()
                }
                (false, _) => Vec::new(),
            },
            rootfs_mib: wanted.rootfs_mib,
        }
    }

    /// Live custom domains of the programs served here go to vm-host,
    /// which routes them and gets their certificates.
    pub(super) async fn bind_domains(&self) -> Result<(), ProvisionerError> {
        let client = self.client.clone();
        let bindings = blocking(move || Ok(client.domain_bindings()?)).await?;
        let serving = self.serving.lock().unwrap().clone();
        let domains: std::collections::HashMap<String, String> =
            aether_sdk::programs::registry::live_domains(bindings.into_iter().map(|(_, b)| b))
                .into_iter()
                .map(|(domain, target)| (domain, hex::encode(target)))
                .filter(|(_, target)| serving.contains_key(target))
                .collect();
        if let Some(host) = self.host.lock().await.as_ref() {
            host.set_domains(domains);
        }
        Ok(())
    }

    /// The core node's socket address, for VMs granted its API.
    async fn node_addr(&self) -> Option<SocketAddr> {
        let url = self.config.node_url.trim_end_matches('/');
        let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
        let authority = rest.split('/').next().unwrap_or(rest);
        // A port is what follows the last colon, unless that colon is
        // inside an IPv6 literal's brackets.
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.contains(']'));
        let with_port = if has_port {
            authority.to_owned()
        } else {
            let port = if scheme == "https" { 443 } else { 80 };
            format!("{authority}:{port}")
        };
        tokio::net::lookup_host(with_port).await.ok()?.next()
    }

    fn volume_path(&self, hash: &str, code_file: &str) -> PathBuf {
        self.config
            .work_dir
            .join(format!("{hash}-{}.ext4", short(code_file)))
    }

    /// Posts what this node serves when it changed since the last post.
    pub(super) async fn announce(&self) {
        let programs: Vec<String> = self.serving.lock().unwrap().keys().cloned().collect();
        if self.announced.lock().unwrap().as_ref() == Some(&programs) {
            return;
        }
        let announcement = Announcement {
            node: self.record.to_string(),
            identity: Some(self.config.identity.to_string()),
            endpoint: self.host_url().await,
            provisioner: Some(self.api_url.clone()),
            programs: programs.clone(),
        };
        let content = serde_json::to_value(&announcement).expect("an announcement serializes");
        let built = MessageBuilder::new(&self.account)
            .channel(self.config.channel.clone())
            .build(PostBuilder::new(ANNOUNCEMENT_TYPE).content(content));
        let sent = match built {
            Ok(signed) => self
                .node
                .post_message(&signed, false)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match sent {
            Ok(_) => {
                self.metrics.announcements.fetch_add(1, Ordering::Relaxed);
                *self.announced.lock().unwrap() = Some(programs);
            }
            Err(e) => tracing::warn!(error = %e, "announcement not posted"),
        }
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(16)]
}
