//! Volume images: which file system an image holds, and making code,
//! empty and root file system volumes (ext4, by mke2fs).

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use super::{io, VolumeError};

/// The file system of an image, from its magic numbers.
pub fn fs_type(path: &Path) -> Result<&'static str, VolumeError> {
    let mut head = vec![0u8; 2048];
    let mut file = fs::File::open(path).map_err(io(path))?;
    let n = file.read(&mut head).map_err(io(path))?;
    head.truncate(n);
    if head.starts_with(b"hsqs") {
        return Ok("squashfs");
    }
    // The ext superblock starts at 1024; its magic 0xEF53 is at offset 56.
    if head.len() >= 1082 && head[1080..1082] == [0x53, 0xEF] {
        return Ok("ext4");
    }
    Err(VolumeError::NotAnImage(path.to_path_buf()))
}

fn tree_size(dir: &Path) -> Result<u64, VolumeError> {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).map_err(io(&d))?.flatten() {
            let meta = entry.metadata().map_err(io(&entry.path()))?;
            total += 4096;
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.len();
            }
        }
    }
    Ok(total)
}

fn mkfs(out: &Path, size_bytes: u64, from: Option<&Path>) -> Result<(), VolumeError> {
    let _ = fs::remove_file(out);
    let mut command = Command::new("mke2fs");
    command.args(["-q", "-t", "ext4", "-F", "-E", "root_owner=0:0"]);
    if let Some(dir) = from {
        command.arg("-d").arg(dir);
    }
    command
        .arg(out)
        .arg(format!("{}k", size_bytes.div_ceil(1024)));
    let output = command
        .output()
        .map_err(|e| VolumeError::Mkfs(format!("{e} (Debian: e2fsprogs)")))?;
    if !output.status.success() {
        return Err(VolumeError::Mkfs(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    Ok(())
}

/// An ext4 code volume at `out` holding the files of `dir`, refused when
/// they come to more than `limit` bytes.
pub fn code_volume_from_dir(dir: &Path, out: &Path, limit: u64) -> Result<(), VolumeError> {
    let size = tree_size(dir)?;
    if size > limit {
        return Err(VolumeError::TooLarge {
            what: format!("the code in {}", dir.display()),
            size,
            limit,
        });
    }
    // Room for the file system's own blocks.
    mkfs(out, size + size / 4 + 8 * 1024 * 1024, Some(dir))
}

/// An ext4 code volume from a tar archive (plain or gzipped).
pub fn code_volume_from_archive(archive: &Path, out: &Path, limit: u64) -> Result<(), VolumeError> {
    let bytes = fs::read(archive).map_err(io(archive))?;
    let reader: Box<dyn Read> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(&bytes[..]))
    } else {
        Box::new(&bytes[..])
    };
    let unpacked = out.with_extension("unpack");
    let _ = fs::remove_dir_all(&unpacked);
    fs::create_dir_all(&unpacked).map_err(io(&unpacked))?;
    // Entries are checked one by one: no absolute paths or `..` (the tar
    // crate's `unpack_in` refuses those), and the running total stays
    // under the limit however the archive claims its sizes.
    let mut tar = tar::Archive::new(reader);
    let mut total = 0u64;
    let result = (|| {
        for entry in tar
            .entries()
            .map_err(|e| VolumeError::Archive(e.to_string()))?
        {
            let mut entry = entry.map_err(|e| VolumeError::Archive(e.to_string()))?;
            total = total.saturating_add(entry.size()).saturating_add(4096);
            if total > limit {
                return Err(VolumeError::TooLarge {
                    what: format!("the code in {}", archive.display()),
                    size: total,
                    limit,
                });
            }
            if !entry
                .unpack_in(&unpacked)
                .map_err(|e| VolumeError::Archive(e.to_string()))?
            {
                return Err(VolumeError::Archive(
                    "an entry escapes the archive's root".into(),
                ));
            }
        }
        code_volume_from_dir(&unpacked, out, limit)
    })();
    let _ = fs::remove_dir_all(&unpacked);
    result
}

/// A fresh, empty ext4 volume of `size_mib` (scratch, or a first persistent one).
pub fn empty_volume(out: &Path, size_mib: u64) -> Result<(), VolumeError> {
    mkfs(out, size_mib * 1024 * 1024, None)
}

/// An instance's own root file system at `out`: a copy of the ext4
/// `image`, grown to `size_mib` (never shrunk below the image). Written
/// beside `out` and renamed, so a crash leaves no half-made disk.
pub fn rootfs_volume(image: &Path, out: &Path, size_mib: u64) -> Result<(), VolumeError> {
    if fs_type(image)? != "ext4" {
        return Err(VolumeError::Rootfs(format!(
            "{} is not ext4: an instance's root must grow, and squashfs cannot",
            image.display()
        )));
    }
    let partial = out.with_extension("partial");
    let made = grow_copy(image, &partial, size_mib)
        .and_then(|()| fs::rename(&partial, out).map_err(io(out)));
    if made.is_err() {
        // Nothing half-made is left for the next boot to trust.
        let _ = fs::remove_file(&partial);
    }
    made
}

fn grow_copy(image: &Path, partial: &Path, size_mib: u64) -> Result<(), VolumeError> {
    fs::copy(image, partial).map_err(io(partial))?;
    let file = fs::OpenOptions::new()
        .write(true)
        .open(partial)
        .map_err(io(partial))?;
    let want = size_mib
        .checked_mul(1024 * 1024)
        .ok_or_else(|| VolumeError::Rootfs(format!("{size_mib} MiB is too large")))?;
    let len = file.metadata().map_err(io(partial))?.len();
    if want > len {
        file.set_len(want).map_err(io(partial))?;
    }
    drop(file);
    // resize2fs wants a freshly checked file system.
    for (tool, args) in [("e2fsck", &["-f", "-y"][..]), ("resize2fs", &[][..])] {
        let output = Command::new(tool)
            .args(args)
            .arg(partial)
            .output()
            .map_err(|e| VolumeError::Rootfs(format!("{tool}: {e} (Debian: e2fsprogs)")))?;
        // e2fsck exits 1 when it fixed something, which is fine here.
        let ok = output.status.success() || (tool == "e2fsck" && output.status.code() == Some(1));
        if !ok {
            return Err(VolumeError::Rootfs(format!(
                "{tool}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_and_others_refused() {
        let dir = tempfile::tempdir().unwrap();
        let code = dir.path().join("code");
        fs::create_dir(&code).unwrap();
        fs::write(code.join("run.sh"), b"echo hi").unwrap();
        let image = dir.path().join("code.ext4");
        code_volume_from_dir(&code, &image, 1 << 20).unwrap();
        assert_eq!(fs_type(&image).unwrap(), "ext4");

        let junk = dir.path().join("junk");
        fs::write(&junk, vec![7u8; 4096]).unwrap();
        assert!(matches!(fs_type(&junk), Err(VolumeError::NotAnImage(_))));
        // Over the limit: refused, and no image is left.
        let big = dir.path().join("big.ext4");
        fs::write(code.join("blob"), vec![0u8; 64 * 1024]).unwrap();
        assert!(matches!(
            code_volume_from_dir(&code, &big, 16 * 1024),
            Err(VolumeError::TooLarge { .. })
        ));
        assert!(!big.exists());
    }

    #[test]
    fn a_root_file_system_grows_from_its_image_and_only_from_ext4() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        fs::create_dir(&tree).unwrap();
        fs::write(tree.join("hello"), b"hi").unwrap();
        let image = dir.path().join("image.ext4");
        code_volume_from_dir(&tree, &image, 1 << 20).unwrap();
        let out = dir.path().join("rootfs.ext4");
        rootfs_volume(&image, &out, 48).unwrap();
        assert_eq!(fs::metadata(&out).unwrap().len(), 48 << 20);
        assert_eq!(fs_type(&out).unwrap(), "ext4");
        // resize2fs grew the file system, not only the file.
        let info = Command::new("dumpe2fs")
            .arg("-h")
            .arg(&out)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&info.stdout);
        let blocks: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("Block count:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let size: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("Block size:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(blocks * size, 48 << 20);

        let junk = dir.path().join("junk");
        fs::write(&junk, vec![7u8; 4096]).unwrap();
        let refused = dir.path().join("refused.ext4");
        assert!(rootfs_volume(&junk, &refused, 48).is_err());
        let mut squash = vec![0u8; 4096];
        squash[..4].copy_from_slice(b"hsqs");
        fs::write(&junk, squash).unwrap();
        assert!(matches!(
            rootfs_volume(&junk, &refused, 48),
            Err(VolumeError::Rootfs(_))
        ));
        assert!(!refused.exists() && !refused.with_extension("partial").exists());
    }

    fn tar_entry(name: &str, data: &[u8]) -> Vec<u8> {
        let mut header = tar::Header::new_gnu();
        // Written raw: the tar crate refuses to build a `..` path itself.
        let raw = &mut header.as_gnu_mut().unwrap().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        let mut out = header.as_bytes().to_vec();
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    #[test]
    fn archives_become_volumes_and_escaping_entries_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut good = tar_entry("app/run.sh", b"echo hi");
        good.extend(vec![0u8; 1024]);
        let archive = dir.path().join("good.tar");
        fs::write(&archive, &good).unwrap();
        let image = dir.path().join("good.ext4");
        code_volume_from_archive(&archive, &image, 1 << 20).unwrap();
        assert_eq!(fs_type(&image).unwrap(), "ext4");

        let mut evil = tar_entry("../escaped", b"gotcha");
        evil.extend(vec![0u8; 1024]);
        let archive = dir.path().join("evil.tar");
        fs::write(&archive, &evil).unwrap();
        let image = dir.path().join("evil.ext4");
        assert!(code_volume_from_archive(&archive, &image, 1 << 20).is_err());
        assert!(!image.exists());
        assert!(!dir.path().join("escaped").exists());
        // An archive bigger than the limit is refused as it unpacks.
        let mut big = tar_entry("big", &vec![1u8; 64 * 1024]);
        big.extend(vec![0u8; 1024]);
        let archive = dir.path().join("big.tar");
        fs::write(&archive, &big).unwrap();
        assert!(matches!(
            code_volume_from_archive(&archive, &dir.path().join("big.ext4"), 16 * 1024),
            Err(VolumeError::TooLarge { .. })
        ));
    }
}
