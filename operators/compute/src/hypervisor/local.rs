//! The host-local path of copies and checksums: when the operator runs on the hypervisor
//! host itself (a URI without a host name, such as `qemu:///system` or
//! `qemu+unix:///session?socket=…`), the daemon's volume paths are paths of this machine,
//! and the bytes need not travel through libvirt's streams.
//!
//! The data is copied inside the kernel (`copy_file_range`, as `cp` does) while a second
//! thread reads the same source and computes its SHA-256; the target is synced before the
//! copy counts as done. The source is stable during the copy (a volume not in use, or the
//! base of a frozen disk), so the checksum is that of the bytes copied. Anything that
//! stops the local path before a byte is written (a path that does not exist here, no
//! permission) leaves the streaming path to do the copy.

use std::{
    fs::{File, OpenOptions},
    io::{self, Read},
    path::Path,
    thread,
};

use sha2::{Digest, Sha256};

use super::spec::CopyReport;

/// Size of the reads of the hashing thread.
const HASH_CHUNK: usize = 8 << 20;

/// Whether `uri` names the libvirt daemon of this machine: no host name after `//`.
pub fn is_local(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return false;
    };
    let transport = scheme.split_once('+').map(|(_, t)| t);
    rest.starts_with('/') && matches!(transport, None | Some("unix")) && !scheme.starts_with("test")
}

/// The two files of a local copy, opened: `None` when either cannot be used here.
pub fn open_pair(source: &str, target: &str) -> Option<(File, File)> {
    let source = File::open(Path::new(source)).ok()?;
    let target = OpenOptions::new().write(true).open(Path::new(target)).ok()?;
    Some((source, target))
}

/// Copies `length` bytes of `source` to the start of `target` in the kernel, hashing the
/// source on another thread, then syncs the target.
pub fn copy(source: File, mut target: File, length: u64) -> io::Result<CopyReport> {
    let hash_source = source.try_clone()?;
    let hasher = thread::spawn(move || hash(hash_source, length));
    let copied = io::copy(&mut (&source).take(length), &mut target);
    let hashed = hasher.join().map_err(|_| io::Error::other("the hashing thread panicked"))?;
    let copied = copied?;
    let report = hashed?;
    if copied != length || report.bytes != length {
        return Err(io::Error::other(format!("copied {copied} and hashed {} of {length} bytes", report.bytes)));
    }
    target.sync_all()?;
    Ok(report)
}

/// The SHA-256 of the first `length` bytes of `file`, read from the start.
pub fn hash(file: File, length: u64) -> io::Result<CopyReport> {
    use std::os::unix::fs::FileExt;
    let mut digest = Sha256::new();
    let mut buffer = vec![0u8; HASH_CHUNK];
    let mut offset = 0u64;
    while offset < length {
        let want = usize::try_from((length - offset).min(HASH_CHUNK as u64)).unwrap_or(HASH_CHUNK);
        let read = file.read_at(&mut buffer[..want], offset)?;
        if read == 0 {
            break;
        }
        digest.update(&buffer[..read]);
        offset += read as u64;
    }
    Ok(CopyReport { bytes: offset, sha256: digest.finalize().iter().map(|b| format!("{b:02x}")).collect() })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn only_uris_of_this_machine_are_local() {
        assert!(is_local("qemu:///system"));
        assert!(is_local("qemu:///session"));
        assert!(is_local("qemu+unix:///session?socket=/run/user/1000/libvirt/libvirt-sock"));
        assert!(!is_local("qemu+tls://kvm-01.dc.lm.gov.lv/system"));
        assert!(!is_local("qemu+ssh://root@kvm-02/system"));
        assert!(!is_local("qemu+unix://kvm-03/system"), "a host name is another machine");
        assert!(!is_local("test:///default"), "the test hypervisor's paths are not files");
        assert!(!is_local("not a uri"));
    }

    #[test]
    fn a_copy_is_exact_and_its_checksum_is_of_the_bytes() {
        let dir = std::env::temp_dir().join(format!("makonis-local-copy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (from, to) = (dir.join("from.raw"), dir.join("to.raw"));
        let data: Vec<u8> = (0..(3 * HASH_CHUNK + 12345)).map(|i| (i * 7 % 251) as u8).collect();
        File::create(&from).unwrap().write_all(&data).unwrap();
        File::create(&to).unwrap().set_len(data.len() as u64).unwrap();
        let (source, target) = open_pair(from.to_str().unwrap(), to.to_str().unwrap()).unwrap();
        let report = copy(source, target, data.len() as u64).unwrap();
        let expected: String = Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(report, CopyReport { bytes: data.len() as u64, sha256: expected });
        assert_eq!(std::fs::read(&to).unwrap(), data);
        assert!(open_pair(dir.join("missing").to_str().unwrap(), to.to_str().unwrap()).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_short_source_is_an_error_not_a_short_backup() {
        let dir = std::env::temp_dir().join(format!("makonis-local-short-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (from, to) = (dir.join("from.raw"), dir.join("to.raw"));
        File::create(&from).unwrap().write_all(&[1u8; 1000]).unwrap();
        File::create(&to).unwrap();
        let (source, target) = open_pair(from.to_str().unwrap(), to.to_str().unwrap()).unwrap();
        assert!(copy(source, target, 4096).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
