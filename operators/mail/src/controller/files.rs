//! Writing the rendered files: each one only when its content changed, atomically (a
//! temporary file renamed over the old one), with its mode.

use std::{
    collections::BTreeSet,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
};

use crate::{
    error::Error,
    render::{RenderedFile, Server},
};

/// Writes the files that differ from what is on disk; returns the servers whose files
/// changed.
pub fn write_changed(files: &[RenderedFile]) -> Result<BTreeSet<Server>, Error> {
    let mut changed = BTreeSet::new();
    for file in files {
        let current = std::fs::read(&file.path).ok();
        let mode_ok = std::fs::metadata(&file.path).is_ok_and(|m| m.permissions().mode() & 0o777 == file.mode);
        if current.as_deref() == Some(file.content.as_bytes()) && mode_ok {
            continue;
        }
        write_atomically(&file.path, file.content.as_bytes(), file.mode)
            .map_err(|source| Error::Write { path: file.path.display().to_string(), source })?;
        changed.insert(file.server);
    }
    Ok(changed)
}

fn write_atomically(path: &Path, content: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| std::io::Error::other("the path has no directory"))?;
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = dir.join(format!(".{name}.new"));
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&temporary)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.write_all(content)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_files_are_written_and_their_servers_named() {
        let dir = std::env::temp_dir().join(format!("makonis-mail-files-{}", std::process::id()));
        let file = |name: &str, content: &str, server| RenderedFile {
            path: dir.join(name),
            content: content.into(),
            mode: 0o640,
            server,
        };
        let first = [file("postfix/main.cf", "a", Server::Postfix), file("dovecot/users", "b", Server::Dovecot)];
        assert_eq!(write_changed(&first).unwrap().len(), 2);
        assert!(write_changed(&first).unwrap().is_empty());
        let second = [file("postfix/main.cf", "a", Server::Postfix), file("dovecot/users", "c", Server::Dovecot)];
        assert_eq!(write_changed(&second).unwrap(), BTreeSet::from([Server::Dovecot]));
        let mode = std::fs::metadata(dir.join("dovecot/users")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
