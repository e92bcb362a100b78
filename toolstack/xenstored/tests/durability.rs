//! The tree survives restarts: clean ones, and crashes (a copy of the state
//! directory taken while the server runs is what a crash leaves behind).

mod common;

use common::temp_dir;
use mb_xenstored::{Config, Server};
use std::path::Path;
use xenstore::Errno;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn restart_keeps_tree_perms_and_domains() {
    restart_keeps_tree(true);
}

/// Without a disk flush per write (as the mbctl agent runs it), every
/// write still reaches the log first: a server killed or restarted loses
/// nothing (a host crash may).
#[test]
fn restart_keeps_tree_without_fsync() {
    restart_keeps_tree(false);
}

fn restart_keeps_tree(fsync: bool) {
    let dir = temp_dir(if fsync { "durable" } else { "durable-nosync" });
    let mut cfg = Config::new(dir.join("s.sock")).with_state_dir(dir.join("state"));
    cfg.fsync = fsync;
    let s = Server::start(cfg.clone()).unwrap();
    s.add_guest_socket(4, dir.join("g4.sock")).unwrap();
    let mut c = common::connect(&dir.join("s.sock"));
    c.write("/mbctl/vm/a/name", b"fw").unwrap();
    c.write(
        "/local/domain/4/data/clickos/0/config/0",
        b"Idle -> Discard;",
    )
    .unwrap();
    c.write("/gone/x", b"1").unwrap();
    c.rm("/gone").unwrap();
    c.transaction(|t| t.write("/tx/v", b"committed")).unwrap();
    // Crash image: the state as it is on disk right now.
    copy_dir(&dir.join("state"), &dir.join("crash"));
    drop(c);
    s.shutdown();

    for state in ["state", "crash"] {
        let cfg = Config::new(dir.join(format!("{state}.sock"))).with_state_dir(dir.join(state));
        let s = Server::start(cfg).unwrap();
        let mut c = common::connect(&dir.join(format!("{state}.sock")));
        assert_eq!(c.read("/mbctl/vm/a/name").unwrap(), b"fw", "{state}");
        assert_eq!(
            c.read("/local/domain/4/data/clickos/0/config/0").unwrap(),
            b"Idle -> Discard;"
        );
        assert_eq!(c.get_perms("/local/domain/4/data").unwrap().to_text(), "n4");
        assert_eq!(c.read("/gone").unwrap_err().errno(), Some(Errno::ENOENT));
        assert_eq!(c.read("/tx/v").unwrap(), b"committed");
        assert!(s.with_store(|st| st.is_introduced(4)));
        s.shutdown();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compaction_under_load_keeps_everything() {
    let dir = temp_dir("compact");
    let mut cfg = Config::new(dir.join("s.sock")).with_state_dir(dir.join("state"));
    cfg.compact_bytes = 16 * 1024;
    let s = Server::start(cfg.clone()).unwrap();
    let mut c = common::connect(&dir.join("s.sock"));
    for i in 0..300 {
        c.write(&format!("/k/{}", i % 37), i.to_string().as_bytes())
            .unwrap();
    }
    let wal = std::fs::metadata(dir.join("state/store.wal"))
        .unwrap()
        .len();
    assert!(
        wal < 16 * 1024 + 4096,
        "log was compacted (now {wal} bytes)"
    );
    copy_dir(&dir.join("state"), &dir.join("crash"));
    s.shutdown();
    let cfg = Config::new(dir.join("c.sock")).with_state_dir(dir.join("crash"));
    let s = Server::start(cfg).unwrap();
    let mut c = common::connect(&dir.join("c.sock"));
    for k in 0..37 {
        let last = (0..300).filter(|i| i % 37 == k).max().unwrap();
        assert_eq!(
            c.read(&format!("/k/{k}")).unwrap(),
            last.to_string().as_bytes()
        );
    }
    s.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
