//! Store round trips over the unix socket, printed as a table.
//!
//! `cargo bench -p mb-xenstored`. Measures read and write round trips per
//! second (one request in flight, as the guest and the tools use the store),
//! and the time to write a 64 KiB Click config in 992-byte chunks and read it
//! back, for the in-memory store and the durable one (fsync per change).

use mb_xenstored::{Config, Server};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};
use xenstore::client::{BlockingClient, StreamTransport};

type Client = BlockingClient<StreamTransport<UnixStream>>;

fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn reads(c: &mut Client, n: usize) -> Duration {
    c.write("/bench/r", b"value").unwrap();
    let t = Instant::now();
    for _ in 0..n {
        c.read("/bench/r").unwrap();
    }
    t.elapsed()
}

fn writes(c: &mut Client, n: usize) -> Duration {
    let t = Instant::now();
    for i in 0..n {
        c.write("/bench/w", if i % 2 == 0 { b"a" } else { b"b" })
            .unwrap();
    }
    t.elapsed()
}

fn config(c: &mut Client, base: &str) -> (Duration, Duration) {
    let cfg: Vec<u8> = (0..64 * 1024)
        .map(|i| b"abcdefghij -> ;\n"[i % 16])
        .collect();
    let t = Instant::now();
    for (i, chunk) in cfg.chunks(992).enumerate() {
        c.write(&format!("{base}/config/{i}"), chunk).unwrap();
    }
    let w = t.elapsed();
    let t = Instant::now();
    let mut back = Vec::with_capacity(cfg.len());
    for i in 0.. {
        match c.read(&format!("{base}/config/{i}")) {
            Ok(v) => back.extend(v),
            Err(_) => break,
        }
    }
    let r = t.elapsed();
    assert_eq!(back, cfg);
    (w, r)
}

fn main() {
    let dir = std::env::temp_dir().join(format!("mbxs-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "{:<12} {:>14} {:>14} {:>16} {:>16}",
        "store", "reads/s", "writes/s", "64K cfg write", "64K cfg read"
    );
    // The durable store fsyncs every change: on a disk that dominates; on
    // tmpfs (where /run usually is) it shows the log's own cost.
    let shm = std::path::Path::new("/dev/shm").join(format!("mbxs-bench-{}", std::process::id()));
    let runs = [
        ("memory", None, true),
        ("wal-tmpdir", Some(dir.join("state")), true),
        ("wal-tmpfs", Some(shm.clone()), true),
        // As the mbctl agent runs it: logged, not synced per write.
        ("wal-nosync", Some(dir.join("state-nosync")), false),
    ];
    for (name, state, fsync) in runs {
        if state
            .as_ref()
            .is_some_and(|s| !s.parent().is_some_and(|p| p.is_dir()))
        {
            continue;
        }
        let durable = state.is_some();
        let sock = dir.join(format!("{name}.sock"));
        let mut cfg = Config::new(&sock);
        cfg.fsync = fsync;
        if let Some(s) = state {
            cfg = cfg.with_state_dir(s);
        }
        let server = Server::start(cfg).unwrap();
        let mut c: Client =
            BlockingClient::new(StreamTransport(UnixStream::connect(&sock).unwrap()));
        let n = if durable { 2_000 } else { 20_000 };
        reads(&mut c, 1000);
        let r = reads(&mut c, 20_000);
        let w = writes(&mut c, n);
        let (cw, cr) = config(&mut c, "/local/domain/1/data/clickos/0");
        println!(
            "{:<12} {:>14.0} {:>14.0} {:>13.2} ms {:>13.2} ms",
            name,
            per_sec(20_000, r),
            per_sec(n, w),
            cw.as_secs_f64() * 1e3,
            cr.as_secs_f64() * 1e3
        );
        server.shutdown();
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&shm);
}
