//! `mbctl agent`, `mbctl agent stop` and `mbctl env` as a user runs them,
//! with the store checked through `mbctl`'s store client and Debian's tools.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const MBCTL: &str = env!("CARGO_BIN_EXE_mbctl");

fn mbctl(run: &Path, args: &[&str]) -> Output {
    Command::new(MBCTL)
        .args(args)
        .env("MBCTL_RUN_DIR", run)
        .env_remove("XENSTORED_PATH")
        .output()
        .expect("running mbctl")
}

fn start_agent(run: &Path) -> Child {
    let child = Command::new(MBCTL)
        .arg("agent")
        .env("MBCTL_RUN_DIR", run)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning mbctl agent");
    // Waiting for readiness (not a timing assertion): the pid file appears
    // once the store is listening.
    let start = Instant::now();
    while !run.join("agent.pid").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "agent did not come up"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

fn stop_agent(run: &Path, mut child: Child) {
    // Reap the child concurrently, as a shell would, so `stop` sees it go.
    let waiter = std::thread::spawn(move || child.wait().expect("waiting for agent"));
    let o = mbctl(run, &["agent", "stop"]);
    assert!(
        o.status.success(),
        "agent stop: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let status = waiter.join().unwrap();
    assert!(status.success(), "agent exited with {status}");
    assert!(!run.join("agent.pid").exists(), "pid file removed");
    assert!(!run.join("xenstored.sock").exists(), "socket removed");
}

fn run_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("mbctl-agent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn agent_serves_the_store_across_restarts() {
    let run = run_dir();
    let o = mbctl(&run, &["env"]);
    let sock = run.join("xenstored.sock");
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!("XENSTORED_PATH={}\n", sock.display())
    );

    let agent = start_agent(&run);
    // A second agent on the same directory is refused.
    let o = mbctl(&run, &["agent"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("already serves"),
        "{:?}",
        o
    );

    // The toolstack's store client.
    let mut st = mb_store_client::Store::connect(&sock).expect("store client");
    st.write("/mbctl/vm/fw/domid", "3").unwrap();
    assert_eq!(st.read("/mbctl/vm/fw/domid").unwrap().as_deref(), Some("3"));
    assert_eq!(st.read("/mbctl/none").unwrap(), None);
    assert_eq!(st.list("/mbctl/vm").unwrap(), ["fw"]);
    st.set_perms("/mbctl/vm/fw", &["n0", "r3"]).unwrap();
    assert_eq!(st.get_perms("/mbctl/vm/fw").unwrap(), "n0 r3");
    st.transaction(|t| t.write("/mbctl/vm/fw/state", b"running"))
        .unwrap();
    st.watch("/mbctl/vm/fw/state", "w").unwrap();
    assert_eq!(st.wait_event().unwrap().path, "/mbctl/vm/fw/state");
    drop(st);

    // Debian's tool through the path `mbctl env` printed.
    let have_tool = Path::new("/usr/bin/xenstore-read").exists();
    if have_tool {
        let o = Command::new("xenstore-read")
            .arg("/mbctl/vm/fw/state")
            .env("XENSTORED_PATH", &sock)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout), "running\n");
    } else if std::env::var_os("CI").is_some() {
        panic!("xenstore-read missing: apt-get install xenstore-utils");
    } else {
        println!("SKIP xenstore-read part: install xenstore-utils");
    }

    stop_agent(&run, agent);
    let o = mbctl(&run, &["agent", "stop"]);
    assert!(!o.status.success(), "stopping a stopped agent is an error");

    // The tree survives the restart.
    let agent = start_agent(&run);
    let mut st = mb_store_client::Store::connect(&sock).expect("store client");
    assert_eq!(
        st.read("/mbctl/vm/fw/state").unwrap().as_deref(),
        Some("running")
    );
    drop(st);
    stop_agent(&run, agent);
    let _ = std::fs::remove_dir_all(&run);
}
