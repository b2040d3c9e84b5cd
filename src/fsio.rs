//! Files written safely: hidden temporary names beside the target, atomic replacement, and the
//! size + SHA-256 of a finished file.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// `dir/.name.kitap-tmp-PID`: hidden, so a scan of the output folder never mistakes it for a
/// result, and per process, so two runs never write the same temporary file.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.kitap-tmp-{}", std::process::id()))
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so a
/// reader never sees half a file and a crash never leaves one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    })
}

/// Like [`write_atomic`], for a file too large to hold: `write` fills (and syncs) the
/// temporary file, which then replaces `path`.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = temp_path(path);
    let result = std::fs::File::create(&tmp)
        .and_then(write)
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Size and SHA-256 (lowercase hex) of a file, read in 64 KiB blocks.
pub fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        hasher.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, format!("{:x}", hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
    }

    #[test]
    fn hash_is_sha256_of_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            hash_file(&path).unwrap(),
            (
                3,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string()
            )
        );
    }

    #[test]
    fn temp_name_is_hidden_beside_the_target() {
        let t = temp_path(Path::new("/o/b/b.pdf"));
        assert_eq!(t.parent(), Some(Path::new("/o/b")));
        assert!(
            t.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".b.pdf.kitap-tmp-")
        );
    }
}
