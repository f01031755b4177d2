//! `aether crn`: the resource node (vm-host): run it, check the host,
//! build the guest runtime.

use std::path::PathBuf;
use std::time::Duration;

use aether_keeper::settings::Flags;
use aether_vm_host::runtime::{self, RuntimeInputs};
use aether_vm_host::{Config, Host, HostSettings, ProgramEntry};
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

pub(crate) use aether_vm_host::data_home;

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub host: HostArgs,
    /// Programs to serve: a JSON array of {item_hash, code, entrypoint, port, …}
    #[arg(long)]
    pub programs: Option<PathBuf>,
}

/// The vm-host settings (`aether_vm_host::HostSettings`), shared by `crn
/// run` and `keeper provisioner`: flags over `AETHER_CRN_*` variables over
/// `--config` over the defaults.
#[derive(Debug, Args)]
pub struct HostArgs {
    #[command(flatten)]
    pub settings: Flags<HostSettings>,
}

/// Certificates are renewed this long before they expire.
pub use aether_vm_host::RENEW_BEFORE;

impl HostArgs {
    /// vm-host's config, and its data directory.
    pub fn resolve(&self) -> Result<(Config, PathBuf)> {
        let settings = self.settings.load()?;
        let data_dir = settings.data_dir.clone();
        let runtime = match &settings.runtime {
            Some(r) => r.clone(),
            None => newest_runtime(&data_home().join("runtimes")).context(
                "no runtime built yet: run `aether crn build-runtime` first, or pass --runtime",
            )?,
        };
        Ok((settings.into_config(runtime), data_dir))
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
