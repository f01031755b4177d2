//! QEMU's `microvm` machine (Debian's `qemu-system-x86`), one process per
//! VM, controlled over QMP. Devices are virtio over MMIO: the disks, the
//! agent's virtio-serial port (a chardev on a Unix socket), and a user-mode
//! network card restricted to the granted services. KVM is used only where
//! [`crate::kvm::detect`] says it boots a stock kernel; TCG otherwise.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aether_vm_protocol::PORT_NAME;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::{
    console_tail, spawn_logged, wait_for_path, which, Control, Hypervisor, RunningVm, VmError,
    VmSpec,
};
use crate::kvm::Kvm;

/// The QEMU backend.
#[derive(Clone, Debug)]
pub struct Qemu {
    /// The emulator binary.
    pub binary: PathBuf,
    /// Use KVM (only where it works).
    pub kvm: bool,
    /// The program run per guest connection to a granted service, given
    /// "host port" (busybox's `nc`, by default).
    pub relay: Vec<String>,
}

impl Qemu {
    /// QEMU from `PATH`, with KVM when this host's KVM is usable.
    pub fn detect() -> Result<Qemu, String> {
        let binary = which("qemu-system-x86_64").ok_or(
            "qemu-system-x86_64 is not installed (Debian: apt-get install qemu-system-x86)",
        )?;
        let kvm = crate::kvm::detect() == Kvm::Usable;
        // Our relay keeps a half-closed connection's answer; busybox's nc
        // is the fallback.
        let beside = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|d| d.join("aether-relay")))
            .filter(|p| p.is_file());
        let relay = match beside {
            Some(relay) => vec![relay.display().to_string()],
            None => {
                let busybox =
                    which("busybox").ok_or("busybox is not installed (Debian: busybox-static)")?;
                vec![busybox.display().to_string(), "nc".into()]
            }
        };
        Ok(Qemu { binary, kvm, relay })
    }

    fn args(&self, spec: &VmSpec) -> Vec<String> {
        let dir = &spec.dir;
        let mut args: Vec<String> = vec![
            "-M".into(),
            "microvm".into(),
            "-accel".into(),
            if self.kvm {
                "kvm".into()
            } else {
                "tcg,thread=multi".into()
            },
            "-cpu".into(),
            if self.kvm {
                "host".into()
            } else {
                "max".into()
            },
            "-m".into(),
            spec.memory_mib.to_string(),
            "-smp".into(),
            spec.vcpus.to_string(),
            "-nodefaults".into(),
            "-no-user-config".into(),
            "-display".into(),
            "none".into(),
            "-no-reboot".into(),
            "-kernel".into(),
            spec.kernel.display().to_string(),
            "-initrd".into(),
            spec.initrd.display().to_string(),
            "-append".into(),
            self.cmdline(),
            "-serial".into(),
            format!("file:{}", spec.console_log().display()),
            "-qmp".into(),
            format!("unix:{},server=on,wait=off", dir.join("qmp.sock").display()),
            "-chardev".into(),
            format!(
                "socket,id=agent,path={},server=on,wait=off",
                dir.join("agent.sock").display()
            ),
            "-device".into(),
            "virtio-serial-device".into(),
            "-device".into(),
            format!("virtserialport,chardev=agent,name={PORT_NAME}"),
        ];
        for (i, disk) in spec.disks.iter().enumerate() {
            args.push("-drive".into());
            args.push(format!(
                "id=disk{i},file={},format=raw,if=none,readonly={}",
                disk.path.display(),
                if disk.read_only { "on" } else { "off" }
            ));
            args.push("-device".into());
            args.push(format!(
                "virtio-blk-device,drive=disk{i},serial={}",
                disk.serial
            ));
        }
        if let Some(network) = &spec.network {
            // restrict=on: the guest reaches nothing but the guestfwd rules.
            let mut netdev = "user,id=net0,restrict=on".to_string();
            for grant in &network.grants {
                netdev.push_str(&format!(
                    ",guestfwd=tcp:{}:{}-cmd:{} {} {}",
                    grant.guest.0,
                    grant.guest.1,
                    self.relay.join(" "),
                    grant.host.ip(),
                    grant.host.port()
                ));
            }
            args.extend(["-netdev".into(), netdev]);
            args.extend(["-device".into(), "virtio-net-device,netdev=net0".into()]);
        }
        args
    }
}

impl Qemu {
    /// The kernel command line. Under TCG the guest's TSC is the host's,
    /// and its frequency is given: calibrating it against the emulated PIT
    /// fails now and then on a busy host, and the kernel then hangs before
    /// its first line (seen about one boot in twelve here).
    fn cmdline(&self) -> String {
        let mut line = "console=ttyS0 panic=-1 quiet".to_string();
        if !self.kvm {
            if let Some(khz) = host_tsc_khz() {
                line.push_str(&format!(" tsc_early_khz={khz}"));
            }
        }
        line
    }
}

/// The host's TSC frequency in kHz, as /proc/cpuinfo gives it.
fn host_tsc_khz() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz: f64 = info
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    (mhz > 0.0).then_some((mhz * 1000.0) as u64)
}

impl Hypervisor for Qemu {
    fn name(&self) -> &'static str {
        "qemu"
    }

    fn acceleration(&self) -> String {
        if self.kvm { "kvm" } else { "tcg" }.into()
    }

    async fn boot(&self, spec: &VmSpec) -> Result<RunningVm, VmError> {
        std::fs::create_dir_all(&spec.dir).map_err(|e| VmError::Io(spec.dir.clone(), e))?;
        for stale in ["qmp.sock", "agent.sock", "console.log"] {
            let _ = std::fs::remove_file(spec.dir.join(stale));
        }
        let log_path = spec.dir.join("qemu.log");
        let mut process = spawn_logged(&self.binary, &self.args(spec), &log_path)?;
        let agent_path = spec.dir.join("agent.sock");
        if let Err(e) = wait_for_path(
            &agent_path,
            Duration::from_secs(10),
            &mut process,
            &log_path,
        )
        .await
        {
            let _ = process.kill().await;
            return Err(match e {
                VmError::Stopped(_) => VmError::Start {
                    what: "qemu".into(),
                    message: console_tail(&log_path, 10),
                },
                other => other,
            });
        }
        let agent = UnixStream::connect(&agent_path)
            .await
            .map_err(|e| VmError::Io(agent_path.clone(), e))?;
        Ok(RunningVm {
            agent: Some(agent),
            process,
            control: Control::Qmp(spec.dir.join("qmp.sock")),
            console_log: spec.console_log(),
        })
    }
}

/// One QMP command on a fresh connection: greeting, capabilities, command.
async fn qmp(path: &Path, command: &str) -> Result<Value, VmError> {
    let control = |e: std::io::Error| VmError::Control(format!("QMP {}: {e}", path.display()));
    let stream = UnixStream::connect(path).await.map_err(control)?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut next = async || -> Result<Value, VmError> {
        loop {
            let line = lines
                .next_line()
                .await
                .map_err(control)?
                .ok_or_else(|| VmError::Control("QMP closed".into()))?;
            let value: Value = serde_json::from_str(&line)
                .map_err(|e| VmError::Control(format!("QMP sent {line:?}: {e}")))?;
            // Events come whenever; only greetings and answers matter here.
            if value.get("event").is_none() {
                return Ok(value);
            }
        }
    };
    let greeting = next().await?;
    if greeting.get("QMP").is_none() {
        return Err(VmError::Control(format!("not a QMP greeting: {greeting}")));
    }
    for execute in ["qmp_capabilities", command] {
        let line = json!({ "execute": execute }).to_string() + "\n";
        write.write_all(line.as_bytes()).await.map_err(control)?;
        let answer = next().await?;
        if let Some(error) = answer.get("error") {
            return Err(VmError::Control(format!("QMP {execute}: {error}")));
        }
        if execute == command {
            return Ok(answer["return"].clone());
        }
    }
    unreachable!("the loop returns on the command")
}

/// `query-status`: "running", "paused", "shutdown"…
pub async fn status(path: &Path) -> Result<String, VmError> {
    let answer = qmp(path, "query-status").await?;
    Ok(answer["status"].as_str().unwrap_or("unknown").to_string())
}

/// `quit`: QEMU exits at once.
pub async fn quit(path: &Path) -> Result<(), VmError> {
    match qmp(path, "quit").await {
        // QEMU may close the socket before answering.
        Ok(_) | Err(VmError::Control(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
