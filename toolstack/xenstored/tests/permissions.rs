//! The store's files are root's alone whatever the umask: state directory
//! 0700, snapshot, log and guest watches 0600, sockets 0600 from the moment
//! they accept connections.

mod common;

use common::temp_dir;
use mb_xenstored::{Config, Server};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .mode()
        & 0o777
}

#[test]
fn state_and_sockets_are_private_under_any_umask() {
    // SAFETY: umask has no memory effects; this binary has one test, so
    // no other thread creates files meanwhile.
    let old = unsafe { libc::umask(0) };
    let dir = temp_dir("perms");
    let state = dir.join("state");
    // A state directory left by an older version, readable by everyone.
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(state.join("store.wal"), b"").unwrap();
    std::fs::set_permissions(
        state.join("store.wal"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();

    let sock = dir.join("run/xenstored.sock");
    let s = Server::start(Config::new(&sock).with_state_dir(&state)).unwrap();
    let guest = dir.join("run/guests/3.sock");
    s.add_guest_socket(3, &guest).unwrap();
    let mut g = common::connect(&guest);
    g.watch("data", b"t").unwrap();
    let mut c = common::connect(&sock);
    c.write("/x", b"1").unwrap();
    assert_eq!(mode(&sock), 0o600);
    assert_eq!(mode(&guest), 0o600);
    assert_eq!(
        mode(&dir.join("run")),
        0o700,
        "a socket directory it creates"
    );
    assert_eq!(mode(&dir.join("run/guests")), 0o700);
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("store.wal")), 0o600);
    assert_eq!(mode(&state.join("guest-watches")), 0o700);
    assert_eq!(mode(&state.join("guest-watches/3")), 0o600);
    drop((g, c));
    s.shutdown();
    assert_eq!(mode(&state.join("store.snap")), 0o600);
    unsafe { libc::umask(old) };
    let _ = std::fs::remove_dir_all(&dir);
}
