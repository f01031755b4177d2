//! Whether KVM can boot a stock kernel here. On this kind of machine
//! `/dev/kvm` is a nested paravirtual KVM (module `kvm_pvm`) that hangs a
//! stock guest kernel: it counts as unusable, and no guest is ever booted
//! on it to find out.

use std::path::Path;

/// What KVM offers on this host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kvm {
    /// `/dev/kvm` opens and is a regular KVM.
    Usable,
    /// Not usable, and why.
    Unusable(String),
}

/// Looks at `/dev/kvm` and the loaded modules.
pub fn detect() -> Kvm {
    detect_at(Path::new("/dev/kvm"), Path::new("/sys/module"))
}

/// [`detect`] against other paths (for tests).
pub fn detect_at(device: &Path, modules: &Path) -> Kvm {
    if !device.exists() {
        return Kvm::Unusable(format!("{} does not exist", device.display()));
    }
    if modules.join("kvm_pvm").exists() {
        return Kvm::Unusable(
            "/dev/kvm is the nested paravirtual KVM (module kvm_pvm), which hangs a stock guest kernel"
                .into(),
        );
    }
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
    {
        Ok(_) => Kvm::Usable,
        Err(e) => Kvm::Unusable(format!("{} does not open: {e}", device.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pvm_kvm_is_never_used() {
        let dir = tempfile::tempdir().unwrap();
        let device = dir.path().join("kvm");
        std::fs::write(&device, b"").unwrap();
        let modules = dir.path().join("module");
        std::fs::create_dir_all(modules.join("kvm_pvm")).unwrap();
        assert!(matches!(detect_at(&device, &modules), Kvm::Unusable(r) if r.contains("kvm_pvm")));
        std::fs::remove_dir(modules.join("kvm_pvm")).unwrap();
        assert_eq!(detect_at(&device, &modules), Kvm::Usable);
        assert!(matches!(
            detect_at(&dir.path().join("none"), &modules),
            Kvm::Unusable(_)
        ));
    }
}
