//! Files only root may read: the store's state holds every guest's
//! configuration and the toolstack's records, and its sockets grant dom0's
//! powers. Modes are set explicitly, never left to the umask.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::Path;

/// Mode of the store's directories.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the store's files and sockets.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) as 0700, and makes an existing one 0700.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
}

/// Opens `path` for reading and writing, creating it as 0600; an existing
/// file is made 0600 too.
pub fn open_private(path: &Path, truncate: bool) -> io::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(truncate)
        .read(true)
        .write(true)
        .mode(FILE_MODE)
        .open(path)?;
    f.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(f)
}

/// Opens `path` for appending, creating it as 0600.
pub fn append_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Writes `bytes` as the whole of `path` (0600).
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<File> {
    let mut f = open_private(path, true)?;
    f.write_all(bytes)?;
    Ok(f)
}

/// Listens on a unix socket at `path` that only its owner (the server's
/// user, or `owner`'s uid and gid) can connect to.
///
/// Binding also listens, so the socket is bound in a fresh 0700 directory
/// beside `path`, made 0600 (and given to `owner`) there, and only then
/// renamed into place: no one else can connect in between, and a live socket at `path` is replaced
/// atomically. The parent of `path` is created 0700 if missing (an
/// existing one is left as it is: it may be shared, like `/tmp`).
pub fn bind_private(path: &Path, owner: Option<(u32, u32)>) -> io::Result<UnixListener> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(parent)?;
    }
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "socket path has no name"))?;
    let tmp_dir = parent.join(format!(
        ".{}.bind-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp_dir);
    DirBuilder::new().mode(DIR_MODE).create(&tmp_dir)?;
    let tmp = tmp_dir.join("s");
    let r = UnixListener::bind(&tmp).and_then(|l| {
        std::fs::set_permissions(&tmp, Permissions::from_mode(FILE_MODE))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&tmp, Some(uid), Some(gid))?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(l)
    });
    let _ = std::fs::remove_dir_all(&tmp_dir);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().mode() & 0o777
    }

    #[test]
    fn modes_are_explicit() {
        let d = std::env::temp_dir().join(format!("mbxs-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, Permissions::from_mode(0o755)).unwrap();
        private_dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700);
        let f = d.join("f");
        std::fs::write(&f, b"x").unwrap();
        std::fs::set_permissions(&f, Permissions::from_mode(0o644)).unwrap();
        open_private(&f, false).unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(std::fs::read(&f).unwrap(), b"x");
        let s = d.join("sub/sock");
        let l = bind_private(&s, None).unwrap();
        assert_eq!(mode(&s), 0o600);
        assert_eq!(mode(&d.join("sub")), 0o700);
        std::os::unix::net::UnixStream::connect(&s).unwrap();
        assert!(l.accept().is_ok());
        // Binding again replaces the socket; no temporary directory is left.
        let _l2 = bind_private(&s, None).unwrap();
        let left: Vec<_> = std::fs::read_dir(d.join("sub")).unwrap().collect();
        assert_eq!(left.len(), 1);
        // Giving the socket away takes root.
        if std::fs::metadata(&f).unwrap().uid() == 0 {
            let _l3 = bind_private(&s, Some((65534, 65534))).unwrap();
            let m = std::fs::metadata(&s).unwrap();
            assert_eq!((m.uid(), m.gid(), m.mode() & 0o777), (65534, 65534, 0o600));
        } else {
            println!("SKIP socket ownership: needs root");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }
}
