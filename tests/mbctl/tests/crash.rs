//! A crash at any moment leaks nothing: the agent `kill -9`ed (by the
//! `MBCTL_FAULT` hook, which aborts it right after step N) at each step of
//! `boot` and `destroy`, then restarted by the next command, leaves each
//! middlebox either running and recorded or fully gone; a QEMU killed
//! under a running middlebox shows as `crashed` with the guest's last
//! console lines, and `destroy` cleans it up. Real QEMU guests, a tap and
//! veth into a namespace and a socket NIC each.

use mb_tests_mbctl::{can_run, json_names, Host, Netns};
use std::process::Output;
use std::time::{Duration, Instant};

const WIRE: &str = "FromDevice(0) -> c :: Counter -> Queue(64) -> ToDevice(1);\n\
                    FromDevice(1) -> Queue(64) -> ToDevice(0);\n";

/// Most steps an operation may have before the test calls it a loop.
const STEPS_MAX: u32 = 20;

fn boot_args(h: &Host, name: &str, ns: &str) -> Vec<String> {
    let cfg = h.file("wire.click", WIRE);
    let peer = h.scratch.join(format!("{name}-peer"));
    [
        "boot",
        cfg.to_str().unwrap(),
        "--name",
        name,
        "--accel",
        "tcg",
        "--nic",
        &format!("netns:{ns}"),
        "--nic",
        &format!("socket:{}", peer.display()),
    ]
    .map(String::from)
    .to_vec()
}

/// `mbctl ARGS` with an agent started for it that aborts at `fault`.
fn with_fault(h: &Host, fault: &str, args: &[String]) -> Output {
    assert!(h.agent_pids().is_empty(), "an agent already runs");
    h.command(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .env("MBCTL_FAULT", fault)
        .output()
        .expect("running mbctl")
}

/// Whether process `pid` has exited: each of its threads gone or a
/// zombie, so its sockets are closed (the last thread closes them). A
/// dying process's environment is unreadable before that, so
/// [`Host::agent_pids`] stops naming it early, and a command in that
/// moment reaches the old store's socket and is reset.
fn exited(pid: i32) -> bool {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return true;
    };
    if comm.trim() != "mbctl-agent" {
        return true; // the pid went to another process
    }
    tasks.flatten().all(|t| {
        std::fs::read_to_string(t.path().join("stat")).map_or(true, |s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    })
}

fn wait_agent_gone(h: &Host) {
    let start = Instant::now();
    let pid: Option<i32> = std::fs::read_to_string(h.run.join("agent.pid"))
        .ok()
        .and_then(|s| s.trim().parse().ok());
    while !h.agent_pids().is_empty() || pid.is_some_and(|p| !exited(p)) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "agent still runs"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn state_of(ls_json: &str, name: &str) -> Option<String> {
    let i = ls_json.find(&format!("\"name\":\"{name}\""))?;
    let rest = &ls_json[i..];
    let s = rest.find("\"state\":\"")? + 9;
    Some(rest[s..s + rest[s..].find('"')?].to_string())
}

#[test]
fn agent_killed_at_each_boot_step_leaks_nothing() {
    if !can_run("agent_killed_at_each_boot_step_leaks_nothing", true) {
        return;
    }
    let h = Host::new();
    let ns = format!("mbcb{}", std::process::id() % 100_000);
    let _ns = Netns::new(&[&ns]);
    let args = boot_args(&h, "b", &ns);
    let mut outcomes = Vec::new();
    for step in 1..=STEPS_MAX {
        let o = with_fault(&h, &format!("boot:{step}"), &args);
        if o.status.success() {
            // Past the last step: the boot is whole.
            assert!(step > 6, "boot has only {} steps?", step - 1);
            h.ok(&["destroy", "b"]);
            h.assert_clean();
            println!("boot steps: {outcomes:?}");
            return;
        }
        wait_agent_gone(&h);
        // The next command starts an agent that finishes or undoes it.
        let ls = h.ok(&["ls", "--json"]);
        match state_of(&ls, "b").as_deref() {
            None => outcomes.push((step, "rolled back")),
            Some("running") => {
                assert!(!h.qemu_pids().is_empty(), "running without QEMU");
                outcomes.push((step, "running"));
                h.ok(&["destroy", "b"]);
            }
            Some(s) => panic!("after boot:{step}, 'b' is {s}: {ls}"),
        }
        h.assert_clean();
        h.ok(&["agent", "stop"]);
    }
    panic!("boot did not finish within {STEPS_MAX} steps");
}

#[test]
fn agent_killed_at_each_destroy_step_leaks_nothing() {
    if !can_run("agent_killed_at_each_destroy_step_leaks_nothing", true) {
        return;
    }
    let h = Host::new();
    let ns = format!("mbcd{}", std::process::id() % 100_000);
    let _ns = Netns::new(&[&ns]);
    let args = boot_args(&h, "d", &ns);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for step in 1..=STEPS_MAX {
        h.ok(&args);
        h.ok(&["agent", "stop"]);
        let o = with_fault(
            &h,
            &format!("destroy:{step}"),
            &["destroy".into(), "d".into()],
        );
        if o.status.success() {
            assert!(step > 5, "destroy has only {} steps?", step - 1);
            h.assert_clean();
            return;
        }
        wait_agent_gone(&h);
        let ls = h.ok(&["ls", "--json"]);
        assert_eq!(
            json_names(&ls),
            Vec::<String>::new(),
            "after destroy:{step} the restarted agent finishes the destroy"
        );
        h.assert_clean();
        h.ok(&["agent", "stop"]);
    }
    panic!("destroy did not finish within {STEPS_MAX} steps");
}

#[test]
fn a_killed_qemu_is_crashed_with_its_last_words_until_destroyed() {
    if !can_run(
        "a_killed_qemu_is_crashed_with_its_last_words_until_destroyed",
        true,
    ) {
        return;
    }
    let h = Host::new();
    let ns = format!("mbck{}", std::process::id() % 100_000);
    let _ns = Netns::new(&[&ns]);
    let args = boot_args(&h, "k", &ns);
    h.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let log = std::fs::read_to_string(h.run.join("vms/k/console.log")).unwrap();
    let last = log
        .lines()
        .last()
        .expect("the guest printed something")
        .to_string();
    let pids = h.qemu_pids();
    assert_eq!(pids.len(), 1);
    // SAFETY: SIGKILL to the QEMU this test booted.
    unsafe { libc::kill(pids[0], libc::SIGKILL) };
    let start = Instant::now();
    let ls = loop {
        let ls = h.ok(&["ls", "--json"]);
        if state_of(&ls, "k").as_deref() == Some("crashed") {
            break ls;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never crashed: {ls}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(ls.contains("\"crash_log\":\""), "{ls}");
    let show = h.ok(&["show", "k"]);
    assert!(show.contains("state:       crashed"), "{show}");
    assert!(
        show.contains("last console lines") && show.contains(&last),
        "{show}"
    );
    // Its devices went with the VM; the record stays until destroyed.
    assert_eq!(h.devices(), Vec::<String>::new());
    h.ok(&["destroy", "k"]);
    h.assert_clean();
}
