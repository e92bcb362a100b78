//! A log that cannot be written makes the store refuse writes with EIO
//! (and take them back), never acknowledge them; once the log works again,
//! so do writes. The failure is real: the state directory is a tiny tmpfs
//! that a filler file fills up.

mod common;

use common::temp_dir;
use mb_xenstored::{Config, Server};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use xenstore::Errno;

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(at)
            .status()
            .expect("running mount");
        assert!(st.success(), "mounting a tmpfs at {}", at.display());
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Fills the filesystem of `dir` with one file; returns it.
fn fill(dir: &Path) -> PathBuf {
    let f = dir.join("filler");
    let mut file = std::fs::File::create(&f).unwrap();
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).is_ok() {}
    // Also the last few bytes a page did not take.
    while file.write_all(&chunk[..1]).is_ok() {}
    f
}

#[test]
fn a_full_log_refuses_writes_until_it_works_again() {
    if !is_root() {
        let msg = "a_full_log_refuses_writes_until_it_works_again: needs root (mounts a tmpfs)";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        println!("SKIP {msg}");
        return;
    }
    let dir = temp_dir("logfail");
    let state = dir.join("state");
    let fs = Tmpfs::mount(&state, "256k");
    let sock = dir.join("s.sock");
    let s = Server::start(Config::new(&sock).with_state_dir(&state)).unwrap();
    let mut c = common::connect(&sock);
    c.write("/ok/before", b"1").unwrap();

    let filler = fill(&state);
    let value = vec![b'v'; 2000];
    // The log's last page may still take a record or two; then the disk is full.
    let mut acked = 0;
    while c.write(&format!("/ok/{acked}"), &value).is_ok() {
        acked += 1;
        assert!(acked < 10, "the disk never filled up");
    }
    for i in 0..20 {
        assert_eq!(
            c.write(&format!("/refused/{i}"), &value)
                .unwrap_err()
                .errno(),
            Some(Errno::EIO),
            "write {i} on a full disk"
        );
    }
    let r = c.transaction(|t| t.write("/refused/tx", &value));
    assert_eq!(r.unwrap_err().errno(), Some(Errno::EIO));
    // Refused writes were taken back; reads still work.
    assert_eq!(c.read("/ok/before").unwrap(), b"1");
    assert_eq!(c.read("/refused").unwrap_err().errno(), Some(Errno::ENOENT));

    std::fs::remove_file(&filler).unwrap();
    // A plain append works at once; a log that had to be rewritten waits
    // for the next second.
    let start = Instant::now();
    loop {
        match c.write("/ok/after", b"2") {
            Ok(()) => break,
            Err(e) if start.elapsed() < Duration::from_secs(3) => {
                assert_eq!(e.errno(), Some(Errno::EIO));
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("the log did not recover: {e:?}"),
        }
    }
    // What a crash leaves behind replays to exactly what was acknowledged.
    let crash = dir.join("crash");
    std::fs::create_dir_all(&crash).unwrap();
    for f in ["store.snap", "store.wal"] {
        if state.join(f).exists() {
            std::fs::copy(state.join(f), crash.join(f)).unwrap();
        }
    }
    drop(c);
    s.shutdown();
    drop(fs);
    let s = Server::start(Config::new(dir.join("c.sock")).with_state_dir(&crash)).unwrap();
    let mut c = common::connect(&dir.join("c.sock"));
    assert_eq!(c.read("/ok/before").unwrap(), b"1");
    assert_eq!(c.read("/ok/after").unwrap(), b"2");
    for i in 0..acked {
        assert_eq!(c.read(&format!("/ok/{i}")).unwrap(), value);
    }
    assert_eq!(c.read("/refused").unwrap_err().errno(), Some(Errno::ENOENT));
    s.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
