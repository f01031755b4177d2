//! The base runtime: the Debian cloud kernel and an initramfs holding
//! busybox, the kernel modules a micro-VM needs (virtio over MMIO, disks,
//! the agent's port, network, squashfs, vsock) and the guest agent as
//! `/init`. Built from Debian packages, byte for byte the same from the
//! same inputs (sorted entries, zero times and owners, a gzip header with
//! no time), and named by the sha256 of what it holds, so nodes can share
//! it as a stored file.
//!
//! Here: building and reading a runtime; `cpio.rs` the initramfs archive.

mod cpio;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use object::{Object, ObjectSection};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use cpio::Cpio;

/// The modules the guest loads; their dependencies come along.
pub const GUEST_MODULES: &[&str] = &[
    "virtio_mmio",
    "virtio_blk",
    "virtio_console",
    "virtio_net",
    "squashfs",
    "vmw_vsock_virtio_transport",
];

/// The Debian package whose kernel the runtime boots.
pub const KERNEL_PACKAGE: &str = "linux-image-cloud-amd64";

/// Why a runtime could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A tool failed (apt-get, dpkg-deb).
    #[error("{tool}: {message}")]
    Tool {
        /// Which.
        tool: String,
        /// What it said.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The kernel package lacks something the guest needs.
    #[error("the kernel package has no {0}")]
    Missing(String),
    /// A module file does not parse.
    #[error("module {0}: {1}")]
    Module(String, String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RuntimeError + '_ {
    move |e| RuntimeError::Io(path.to_path_buf(), e)
}

/// A built runtime, in `dir`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Runtime {
    /// Its id: the sha256 of its manifest.
    pub id: String,
    /// The directory holding `vmlinuz`, `initrd.gz` and `manifest.json`.
    pub dir: PathBuf,
    /// The kernel's version (e.g. "6.1.0-56-cloud-amd64").
    pub kernel_version: String,
    /// The modules in the order the agent loads them.
    pub modules: Vec<String>,
}

impl Runtime {
    /// The kernel image.
    pub fn kernel(&self) -> PathBuf {
        self.dir.join("vmlinuz")
    }

    /// The initramfs.
    pub fn initrd(&self) -> PathBuf {
        self.dir.join("initrd.gz")
    }

    /// Reads a runtime built earlier.
    pub fn open(dir: &Path) -> Result<Runtime, RuntimeError> {
        let path = dir.join("manifest.json");
        let text = fs::read(&path).map_err(io(&path))?;
        let manifest: Manifest = serde_json::from_slice(&text)
            .map_err(|e| RuntimeError::Io(path.clone(), std::io::Error::other(e)))?;
        Ok(Runtime {
            id: hex::encode(Sha256::digest(&text)),
            dir: dir.to_path_buf(),
            kernel_version: manifest.kernel_version,
            modules: manifest.modules,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    kernel_version: String,
    kernel_sha256: String,
    initrd_sha256: String,
    modules: Vec<String>,
}

/// What a runtime is built from.
#[derive(Clone, Debug)]
pub struct RuntimeInputs {
    /// The kernel package (.deb); `None` downloads [`KERNEL_PACKAGE`] with apt.
    pub kernel_deb: Option<PathBuf>,
    /// A static busybox (Debian's `busybox-static` installs `/bin/busybox`).
    pub busybox: PathBuf,
    /// The static `aether-guest` binary.
    pub agent: PathBuf,
}

fn run(tool: &str, command: &mut Command) -> Result<String, RuntimeError> {
    let out = command.output().map_err(|e| RuntimeError::Tool {
        tool: tool.into(),
        message: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(RuntimeError::Tool {
            tool: tool.into(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Downloads the versioned kernel package that [`KERNEL_PACKAGE`] names
/// into `dir` (once), and returns its path.
pub fn download_kernel(dir: &Path) -> Result<PathBuf, RuntimeError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    let depends = run(
        "apt-cache",
        Command::new("apt-cache").args(["depends", "--important", KERNEL_PACKAGE]),
    )?;
    let package = depends
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|p| p.starts_with("linux-image-"))
        .ok_or_else(|| RuntimeError::Missing(format!("versioned image in {KERNEL_PACKAGE}")))?
        .to_string();
    let existing = |dir: &Path| {
        fs::read_dir(dir).ok().and_then(|entries| {
            entries.flatten().map(|e| e.path()).find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
            })
        })
    };
    if let Some(deb) = existing(dir) {
        return Ok(deb);
    }
    run(
        "apt-get download",
        Command::new("apt-get")
            .current_dir(dir)
            .args(["download", &package]),
    )?;
    existing(dir).ok_or_else(|| RuntimeError::Missing(format!("{package} after download")))
}

/// Builds the runtime from `inputs` under `out` (`out/<id>/`), reusing it
/// when one with the same content exists. `progress` hears each step.
pub fn build(
    inputs: &RuntimeInputs,
    out: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Runtime, RuntimeError> {
    let work = tempfile_dir(out)?;
    let deb = match &inputs.kernel_deb {
        Some(deb) => deb.clone(),
        None => {
            progress("downloading the kernel package");
            download_kernel(&out.join("debs"))?
        }
    };
    progress("unpacking the kernel package");
    let kernel = unpack_kernel(&deb, &work)?;

    progress("resolving kernel modules");
    let available = index_modules(&kernel.modules_root.join(&kernel.version))?;
    let order = module_order(&available, GUEST_MODULES)?;

    progress("writing the initramfs");
    let initrd = initramfs(inputs, &available, &order)?;

    let manifest = Manifest {
        kernel_version: kernel.version.clone(),
        kernel_sha256: hex::encode(Sha256::digest(&kernel.image)),
        initrd_sha256: hex::encode(Sha256::digest(&initrd)),
        modules: order.clone(),
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
    let id = hex::encode(Sha256::digest(&manifest_bytes));
    let dir = out.join(&id);
    if !dir.join("manifest.json").exists() {
        install(
            &work.join("out"),
            &dir,
            [
                ("vmlinuz", &kernel.image),
                ("initrd.gz", &initrd),
                ("manifest.json", &manifest_bytes),
            ],
        )?;
    }
    let _ = fs::remove_dir_all(&work);
    progress("done");
    Ok(Runtime {
        id,
        dir,
        kernel_version: kernel.version,
        modules: order,
    })
}

/// A kernel package unpacked: its version, image and modules.
struct UnpackedKernel {
    /// e.g. "6.1.0-56-cloud-amd64".
    version: String,
    /// The `vmlinuz` bytes.
    image: Vec<u8>,
    /// `lib/modules`, holding a directory per version.
    modules_root: PathBuf,
}

/// Unpacks the kernel package `deb` under `work`.
fn unpack_kernel(deb: &Path, work: &Path) -> Result<UnpackedKernel, RuntimeError> {
    let unpacked = work.join("kernel");
    run(
        "dpkg-deb",
        Command::new("dpkg-deb").arg("-x").arg(deb).arg(&unpacked),
    )?;
    let modules_root = unpacked.join("lib/modules");
    let version = fs::read_dir(&modules_root)
        .map_err(io(&modules_root))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .ok_or_else(|| RuntimeError::Missing("lib/modules".into()))?;
    let vmlinuz = unpacked.join(format!("boot/vmlinuz-{version}"));
    let image = fs::read(&vmlinuz).map_err(io(&vmlinuz))?;
    Ok(UnpackedKernel {
        version,
        image,
        modules_root,
    })
}

/// The gzipped initramfs: busybox and its applets, the agent as `/init`,
/// and the modules in `order` with the list the agent loads them by.
fn initramfs(
    inputs: &RuntimeInputs,
    available: &BTreeMap<String, (PathBuf, Vec<String>)>,
    order: &[String],
) -> Result<Vec<u8>, RuntimeError> {
    let mut archive = Cpio::default();
    for dir in [
        "bin",
        "code",
        "data",
        "dev",
        "etc",
        "etc/aether",
        "lib",
        "lib/modules",
        "proc",
        "scratch",
        "sys",
        "tmp",
        "usr",
        "usr/bin",
    ] {
        archive.dir(dir);
    }
    let busybox = fs::read(&inputs.busybox).map_err(io(&inputs.busybox))?;
    archive.file("bin/busybox", &busybox, 0o755);
    for applet in busybox_applets(&inputs.busybox)? {
        if applet != "busybox" {
            archive.symlink(&format!("bin/{applet}"), "busybox");
        }
    }
    let agent = fs::read(&inputs.agent).map_err(io(&inputs.agent))?;
    archive.file("init", &agent, 0o755);
    let mut list = String::new();
    for name in order {
        let path = &available[name].0;
        let bytes = fs::read(path).map_err(io(path))?;
        let file = format!("{name}.ko");
        archive.file(&format!("lib/modules/{file}"), &bytes, 0o644);
        list.push_str(&file);
        list.push('\n');
    }
    archive.file("etc/aether/modules", list.as_bytes(), 0o644);
    Ok(archive.finish_gzip())
}

/// Writes `files` into `staging`, then renames it to `dir`.
fn install(staging: &Path, dir: &Path, files: [(&str, &Vec<u8>); 3]) -> Result<(), RuntimeError> {
    fs::create_dir_all(staging).map_err(io(staging))?;
    for (name, bytes) in files {
        let path = staging.join(name);
        fs::write(&path, bytes).map_err(io(&path))?;
    }
    // Complete or absent: the directory appears by one rename.
    if let Err(e) = fs::rename(staging, dir) {
        if !dir.join("manifest.json").exists() {
            return Err(RuntimeError::Io(dir.to_path_buf(), e));
        }
    }
    Ok(())
}

fn tempfile_dir(out: &Path) -> Result<PathBuf, RuntimeError> {
    fs::create_dir_all(out).map_err(io(out))?;
    let dir = out.join(format!(".build-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(io(&dir))?;
    Ok(dir)
}

fn busybox_applets(busybox: &Path) -> Result<Vec<String>, RuntimeError> {
    let list = run("busybox --list", Command::new(busybox).arg("--list"))?;
    let mut applets: Vec<String> = list.lines().map(str::to_string).collect();
    applets.sort();
    Ok(applets)
}

/// Every module under `root`: name → (path, names it depends on).
fn index_modules(root: &Path) -> Result<BTreeMap<String, (PathBuf, Vec<String>)>, RuntimeError> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).map_err(io(&dir))?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".ko"))
            {
                found.insert(name.replace('-', "_"), (path.clone(), Vec::new()));
            }
        }
    }
    Ok(found)
}

/// The `depends=` of a module's `.modinfo` section.
fn module_depends(name: &str, path: &Path) -> Result<Vec<String>, RuntimeError> {
    let bytes = fs::read(path).map_err(io(path))?;
    let file = object::File::parse(&*bytes)
        .map_err(|e| RuntimeError::Module(name.into(), e.to_string()))?;
    let section = file
        .section_by_name(".modinfo")
        .ok_or_else(|| RuntimeError::Module(name.into(), "no .modinfo".into()))?;
    let data = section
        .data()
        .map_err(|e| RuntimeError::Module(name.into(), e.to_string()))?;
    Ok(data
        .split(|b| *b == 0)
        .filter_map(|field| field.strip_prefix(b"depends="))
        .flat_map(|list| {
            String::from_utf8_lossy(list)
                .split(',')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|d| !d.is_empty())
        .map(|d| d.replace('-', "_"))
        .collect())
}

/// `wanted` and everything they depend on, dependencies first.
fn module_order(
    available: &BTreeMap<String, (PathBuf, Vec<String>)>,
    wanted: &[&str],
) -> Result<Vec<String>, RuntimeError> {
    fn visit(
        name: &str,
        available: &BTreeMap<String, (PathBuf, Vec<String>)>,
        done: &mut BTreeSet<String>,
        order: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), RuntimeError> {
        if done.contains(name) {
            return Ok(());
        }
        if depth > 32 {
            return Err(RuntimeError::Module(name.into(), "dependency cycle".into()));
        }
        let (path, _) = available
            .get(name)
            .ok_or_else(|| RuntimeError::Missing(format!("module {name}")))?;
        for dep in module_depends(name, path)? {
            visit(&dep, available, done, order, depth + 1)?;
        }
        done.insert(name.to_string());
        order.push(name.to_string());
        Ok(())
    }
    let (mut done, mut order) = (BTreeSet::new(), Vec::new());
    for name in wanted {
        visit(name, available, &mut done, &mut order, 0)?;
    }
    Ok(order)
}
