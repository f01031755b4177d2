//! What `/init` does before and after the program: kernel file systems,
//! modules, the channel to the host, volumes, network, power off.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use aether_vm_protocol::{GuestNetwork, Mount, PORT_NAME};

use crate::log;

/// The modules to load, one file name per line, in dependency order
/// (written by `aether crn build-runtime`).
const MODULE_LIST: &str = "/etc/aether/modules";
const MODULE_DIR: &str = "/lib/modules";

fn mount(source: &str, target: &str, fs: &str, flags: libc::c_ulong) -> io::Result<()> {
    fs::create_dir_all(target)?;
    let (source, target, fs) = (
        CString::new(source)?,
        CString::new(target)?,
        CString::new(fs)?,
    );
    // SAFETY: valid C strings, no data argument.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fs.as_ptr(),
            flags,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Kernel file systems and modules.
pub fn early() -> io::Result<()> {
    mount("proc", "/proc", "proc", 0)?;
    mount("sys", "/sys", "sysfs", 0)?;
    mount("dev", "/dev", "devtmpfs", 0)?;
    mount("tmp", "/tmp", "tmpfs", 0)?;
    load_modules();
    Ok(())
}

/// Loads every listed module, with the parameters the kernel command line
/// gives it (`module.param=value`), as modprobe would.
fn load_modules() {
    let Ok(list) = fs::read_to_string(MODULE_LIST) else {
        return;
    };
    let cmdline = fs::read_to_string("/proc/cmdline").unwrap_or_default();
    for file in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let name = file.trim_end_matches(".ko").replace('-', "_");
        let params: Vec<&str> = cmdline
            .split_whitespace()
            .filter_map(|arg| arg.strip_prefix(&format!("{name}.")))
            .collect();
        if let Err(e) = load_module(&format!("{MODULE_DIR}/{file}"), &params.join(" ")) {
            log(&format!("module {file}: {e}"));
        }
    }
}

fn load_module(path: &str, params: &str) -> io::Result<()> {
    let file = File::open(path)?;
    let params = CString::new(params)?;
    // SAFETY: an open fd and a C string; finit_module copies both.
    let rc = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), params.as_ptr(), 0) };
    let err = io::Error::last_os_error();
    if rc == 0 || err.raw_os_error() == Some(libc::EEXIST) {
        Ok(())
    } else {
        Err(err)
    }
}

/// The channel to the host: vsock when the command line names a port,
/// otherwise the virtio-serial port named `aether.agent`.
pub fn open_channel() -> io::Result<File> {
    let cmdline = fs::read_to_string("/proc/cmdline").unwrap_or_default();
    if let Some(port) = cmdline
        .split_whitespace()
        .find_map(|a| a.strip_prefix("aether.vsock="))
    {
        let port: u32 = port
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "aether.vsock"))?;
        return connect_vsock(port);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(dev) = find_port(PORT_NAME) {
            return OpenOptions::new().read(true).write(true).open(dev);
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no virtio-serial port named {PORT_NAME}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn find_port(name: &str) -> Option<String> {
    for entry in fs::read_dir("/sys/class/virtio-ports").ok()?.flatten() {
        let found = fs::read_to_string(entry.path().join("name")).unwrap_or_default();
        if found.trim() == name {
            return Some(format!("/dev/{}", entry.file_name().to_string_lossy()));
        }
    }
    None
}

fn connect_vsock(port: u32) -> io::Result<File> {
    // SAFETY: plain socket calls on a sockaddr_vm we fill in whole.
    unsafe {
        let fd = libc::socket(libc::AF_VSOCK, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut addr: libc::sockaddr_vm = std::mem::zeroed();
        addr.svm_family = libc::AF_VSOCK as libc::sa_family_t;
        addr.svm_cid = libc::VMADDR_CID_HOST;
        addr.svm_port = port;
        let rc = libc::connect(
            fd,
            &addr as *const libc::sockaddr_vm as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_vm>() as libc::socklen_t,
        );
        if rc < 0 {
            let e = io::Error::last_os_error();
            libc::close(fd);
            return Err(e);
        }
        Ok(File::from_raw_fd(fd))
    }
}

/// Why the volumes, the root or the network could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// No disk carries a volume's serial.
    #[error("no disk with serial {0:?}")]
    NoDisk(String),
    /// A volume did not mount.
    #[error("mounting {serial} ({fs}) on {path}: {source}")]
    Mount {
        /// The volume's disk serial.
        serial: String,
        /// Its file system.
        fs: String,
        /// Where it goes.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A kernel file system could not be bound into the root.
    #[error("binding /{dir} into {root}: {source}")]
    Bind {
        /// `proc`, `sys` or `dev`.
        dir: &'static str,
        /// The root file system.
        root: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The root's `/tmp` did not mount.
    #[error("a /tmp in {root}: {source}")]
    Tmp {
        /// The root file system.
        root: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The root has no shell to start the program with.
    #[error("the root file system has no /bin/sh")]
    NoShell,
    /// `ip` did not run.
    #[error("ip {args}: {source}")]
    IpSpawn {
        /// Its arguments.
        args: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// `ip` failed.
    #[error("ip {args} failed: {status}")]
    IpFailed {
        /// Its arguments.
        args: String,
        /// How it exited.
        status: ExitStatus,
    },
    /// The config names a network the VM does not have.
    #[error("the config names a network but the VM has no eth0")]
    NoEth0,
}

/// Mounts each volume on the disk whose virtio serial names it.
pub fn mounts(mounts: &[Mount]) -> Result<(), InitError> {
    for m in mounts {
        let dev = wait_for_disk(&m.serial).ok_or_else(|| InitError::NoDisk(m.serial.clone()))?;
        let flags = if m.read_only { libc::MS_RDONLY } else { 0 };
        mount(&dev, &m.path, &m.fs, flags).map_err(|source| InitError::Mount {
            serial: m.serial.clone(),
            fs: m.fs.clone(),
            path: m.path.clone(),
            source,
        })?;
    }
    Ok(())
}

fn wait_for_disk(serial: &str) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for entry in fs::read_dir("/sys/block").ok()?.flatten() {
            let found = fs::read_to_string(entry.path().join("serial")).unwrap_or_default();
            if found.trim() == serial {
                return Some(format!("/dev/{}", entry.file_name().to_string_lossy()));
            }
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Readies an instance's root file system for its program: the kernel
/// file systems bound inside, a fresh `/tmp`, and `/bin/sh` present.
pub fn enter_root(root: &str) -> Result<(), InitError> {
    for dir in ["proc", "sys", "dev"] {
        mount(
            &format!("/{dir}"),
            &format!("{root}/{dir}"),
            "",
            libc::MS_BIND | libc::MS_REC,
        )
        .map_err(|source| InitError::Bind {
            dir,
            root: root.to_owned(),
            source,
        })?;
    }
    mount("tmp", &format!("{root}/tmp"), "tmpfs", 0).map_err(|source| InitError::Tmp {
        root: root.to_owned(),
        source,
    })?;
    if !Path::new(&format!("{root}/bin/sh")).exists() {
        return Err(InitError::NoShell);
    }
    Ok(())
}

fn ip(args: &[&str]) -> Result<(), InitError> {
    let status = Command::new("/bin/busybox")
        .arg("ip")
        .args(args)
        .status()
        .map_err(|source| InitError::IpSpawn {
            args: args.join(" "),
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(InitError::IpFailed {
            args: args.join(" "),
            status,
        })
    }
}

/// Loopback always (the program listens there); eth0 when the VM has one.
pub fn network(network: Option<&GuestNetwork>) -> Result<(), InitError> {
    ip(&["link", "set", "lo", "up"])?;
    let Some(net) = network else {
        return Ok(());
    };
    if !Path::new("/sys/class/net/eth0").exists() {
        return Err(InitError::NoEth0);
    }
    ip(&["addr", "add", &net.address, "dev", "eth0"])?;
    ip(&["link", "set", "eth0", "up"])?;
    ip(&["route", "add", "default", "via", &net.gateway])?;
    Ok(())
}

/// Flushes the disks and powers the VM off.
pub fn power_off() -> ! {
    // SAFETY: sync and reboot take no pointers.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    // reboot only returns on failure; PID 1 exiting ends the VM too.
    std::process::exit(1)
}
