//! `aether crn`: the resource node (vm-host): run it, check the host,
//! build the guest runtime.

use std::path::PathBuf;
use std::time::Duration;

use aether_vm_host::runtime::{self, RuntimeInputs};
use aether_vm_host::{BackendChoice, Config, Host, ProgramEntry};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct CrnCmd {
    #[command(subcommand)]
    pub action: CrnAction,
}

#[derive(Debug, Subcommand)]
pub enum CrnAction {
    /// Run the resource node: boot programs in micro-VMs and serve /vm/{item_hash}/…
    Run(RunArgs),
    /// Say which hypervisor backends work on this host, and why not
    Doctor,
    /// Build the guest runtime (kernel + initramfs) from Debian packages
    BuildRuntime(BuildArgs),
}

pub(crate) fn data_home() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("aether")
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub host: HostArgs,
    /// Programs to serve: a JSON array of {item_hash, code, entrypoint, port, …}
    #[arg(long)]
    pub programs: Option<PathBuf>,
}

/// The vm-host settings, shared by `crn run` and `keeper provisioner`.
#[derive(Debug, Args)]
pub struct HostArgs {
    /// Port of the router
    #[arg(long, env = "AETHER_CRN_PORT", default_value_t = 4020)]
    pub port: u16,
    /// Address to bind
    #[arg(long, env = "AETHER_CRN_BIND", default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// VM files, persistent volumes and caches [default: ~/.local/share/aether/crn]
    #[arg(long, env = "AETHER_CRN_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The runtime directory from `aether crn build-runtime` [default: the newest built]
    #[arg(long, env = "AETHER_CRN_RUNTIME")]
    pub runtime: Option<PathBuf>,
    /// auto, qemu or cloud-hypervisor
    #[arg(long, env = "AETHER_CRN_BACKEND", default_value = "auto")]
    pub backend: BackendChoice,
    /// Seconds a VM may stay idle before it stops
    #[arg(long, default_value_t = 60)]
    pub idle_seconds: u64,
    /// Most VMs of one program
    #[arg(long, default_value_t = 4)]
    pub max_instances: usize,
    /// vCPUs offered to VMs per core of this machine (register the node
    /// with cores × this many vCPUs)
    #[arg(long, env = "AETHER_CRN_VCPUS_PER_CORE", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub vcpus_per_core: u16,
    /// Serve live custom domains over HTTPS on this port
    #[arg(long, env = "AETHER_CRN_HTTPS_PORT")]
    pub https_port: Option<u16>,
    /// ACME directory to get their certificates from (HTTP-01 on --port),
    /// e.g. https://acme-v02.api.letsencrypt.org/directory
    #[arg(long, env = "AETHER_CRN_ACME_DIRECTORY", value_name = "URL")]
    pub acme_directory: Option<String>,
    /// A PEM root to trust for the ACME directory's HTTPS (a test CA)
    #[arg(long, env = "AETHER_CRN_ACME_CA", value_name = "PEM")]
    pub acme_ca: Option<PathBuf>,
    /// Contact for the ACME account, e.g. mailto:ops@example.com (repeatable)
    #[arg(long = "acme-contact", value_name = "URL")]
    pub acme_contacts: Vec<String>,
}

/// Certificates are renewed this long before they expire.
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 86_400);

impl HostArgs {
    /// vm-host's config, and its data directory.
    pub fn resolve(&self) -> Result<(Config, PathBuf)> {
        let data_dir = self
            .data_dir
            .clone()
            .unwrap_or_else(|| data_home().join("crn"));
        let runtime = match &self.runtime {
            Some(r) => r.clone(),
            None => newest_runtime(&data_home().join("runtimes")).context(
                "no runtime built yet: run `aether crn build-runtime` first, or pass --runtime",
            )?,
        };
        let mut config = Config::new(data_dir.clone(), runtime);
        config.bind = self.bind;
        config.port = self.port;
        config.backend = self.backend;
        config.limits.idle_timeout = Duration::from_secs(self.idle_seconds);
        config.limits.max_instances = self.max_instances;
        config.vcpus_per_core = self.vcpus_per_core;
        config.https_port = self.https_port;
        if let Some(directory) = &self.acme_directory {
            anyhow::ensure!(
                directory.starts_with("https://"),
                "--acme-directory {directory}: an https:// URL"
            );
            anyhow::ensure!(
                self.https_port.is_some(),
                "--acme-directory needs --https-port: certificates are for serving HTTPS"
            );
            config.acme = Some(aether_vm_host::acme::AcmeConfig {
                directory: directory.clone(),
                ca_pem: self.acme_ca.clone(),
                contact: self.acme_contacts.clone(),
                renew_before: RENEW_BEFORE,
            });
        }
        Ok((config, data_dir))
    }
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Where runtimes are kept [default: ~/.local/share/aether/runtimes]
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The static guest agent [default: aether-guest beside this program]
    #[arg(long)]
    pub agent: Option<PathBuf>,
    /// A kernel package (.deb) instead of downloading linux-image-cloud-amd64
    #[arg(long)]
    pub kernel_deb: Option<PathBuf>,
    /// A static busybox
    #[arg(long, default_value = "/bin/busybox")]
    pub busybox: PathBuf,
}

/// The most recently built runtime under `dir`.
fn newest_runtime(dir: &std::path::Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.path().join("manifest.json").exists())
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
}

impl CrnCmd {
    pub fn execute(self) -> Result<()> {
        match self.action {
            CrnAction::Doctor => {
                let reports = aether_vm_host::doctor();
                for r in &reports {
                    println!(
                        "{:<17} {}  {}",
                        r.name,
                        if r.works { "works " } else { "absent" },
                        r.detail
                    );
                }
                if !reports.iter().any(|r| r.works) {
                    bail!("no hypervisor backend works on this host");
                }
                Ok(())
            }
            CrnAction::BuildRuntime(args) => {
                let agent = match args.agent {
                    Some(a) => a,
                    None => std::env::current_exe()?
                        .parent()
                        .map(|d| d.join("aether-guest"))
                        .context("locating aether-guest")?,
                };
                if !agent.exists() {
                    bail!(
                        "no guest agent at {}: build it with \
                         RUSTFLAGS='-C target-feature=+crt-static' cargo build --release -p aether-guest --target x86_64-unknown-linux-gnu, \
                         then pass --agent",
                        agent.display()
                    );
                }
                let out = args.out.unwrap_or_else(|| data_home().join("runtimes"));
                let bar = indicatif::ProgressBar::new_spinner();
                bar.enable_steady_tick(Duration::from_millis(120));
                let runtime = runtime::build(
                    &RuntimeInputs {
                        kernel_deb: args.kernel_deb,
                        busybox: args.busybox,
                        agent,
                    },
                    &out,
                    &mut |step| bar.set_message(step.to_string()),
                )?;
                bar.finish_and_clear();
                println!("runtime {}", runtime.id);
                println!(
                    "  kernel {}  ({})",
                    runtime.kernel().display(),
                    runtime.kernel_version
                );
                println!("  initrd {}", runtime.initrd().display());
                println!("  modules {}", runtime.modules.join(" "));
                Ok(())
            }
            CrnAction::Run(args) => run(args),
        }
    }
}

fn run(args: RunArgs) -> Result<()> {
    let (config, data_dir) = args.host.resolve()?;
    let programs: Vec<ProgramEntry> = match &args.programs {
        Some(path) => serde_json::from_slice(
            &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a JSON array of programs", path.display()))?,
        None => Vec::new(),
    };
    let volumes = data_dir.join("code");
    std::fs::create_dir_all(&volumes)?;
    let specs = programs
        .into_iter()
        .map(|p| {
            let hash = p.item_hash.clone();
            p.into_spec(&volumes)
                .map(|s| (hash.clone(), s))
                .map_err(|e| anyhow::anyhow!("program {hash}: {e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let host = Host::start(config).await?;
        let (backend, acceleration) = host.supervisor().backend();
        for (hash, spec) in specs {
            host.supervisor().register(&hash, spec);
        }
        eprintln!(
            "resource node ready: {}/vm/<item_hash>/…  usage {}/about/usage  ({backend}, {acceleration}; Ctrl-C stops it)",
            host.url(),
            host.url()
        );
        crate::shutdown_signal().await;
        eprintln!("stopping the VMs");
        host.stop().await;
        Ok(())
    })
}
