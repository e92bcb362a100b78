//! `mbctl check`, `mbctl doc` and `mbctl run` (handlers, pcaps, errors) as
//! a user runs them.

use mb_tests_host::{repo, run_in, stderr, stdout, Scratch};

#[test]
fn check_prints_every_error_with_its_position() {
    let d = Scratch::new("check");
    let bad = "// two mistakes\n\
               src :: Idle;\n\
               src -> c :: Counter(1, 2) -> Discard;\n\
               c[1] -> Discard;\n";
    std::fs::write(d.join("bad.click"), bad).unwrap();
    let o = run_in(&d.0, &["check", "bad.click"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let located: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("bad.click:"))
        .collect();
    assert!(
        located
            .iter()
            .any(|l| l.starts_with("bad.click:3:") && l.contains("too many arguments")),
        "{err}"
    );
    assert!(
        located
            .iter()
            .any(|l| l.starts_with("bad.click:4:") && l.contains("output 1")),
        "{err}"
    );
    // The unconnected Discard input is the third; errors come in file order.
    assert!(err.ends_with("bad.click: 3 errors\n"), "{err}");
    assert!(located[0].starts_with("bad.click:3:"), "{err}");
    assert!(stdout(&o).is_empty());

    std::fs::write(d.join("name.click"), "Idle -> Counter\n  -> Frobnicator;\n").unwrap();
    let o = run_in(&d.0, &["check", "name.click"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("name.click:2:6: undeclared element 'Frobnicator'"),
        "{err}"
    );

    std::fs::write(
        d.join("args.click"),
        "Idle -> c :: Counter(1, 2) -> Discard;\n",
    )
    .unwrap();
    let o = run_in(&d.0, &["check", "args.click"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let first = err.lines().next().unwrap_or("");
    assert!(first.starts_with("args.click:1:"), "{err}");
    assert!(first.contains("too many arguments"), "{err}");

    std::fs::write(d.join("good.click"), "Idle -> c :: Counter -> Discard;\n").unwrap();
    let o = run_in(&d.0, &["check", "good.click"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "good.click: 3 elements, 2 connections, 0 errors\n"
    );
}

#[test]
fn check_reports_every_kind_of_error_with_suggestions() {
    let d = Scratch::new("checkall");
    // An unknown class, a bad argument, a bad connection, a script writing
    // a mistyped handler, a mistyped element reference and a driver script
    // expanding a mistyped handler: all reported in one run, in file order.
    let bad = "src :: InfiniteSorce(LIMIT 5);\n\
               q :: Queue(foo);\n\
               Idle -> c :: counter -> Discard;\n\
               Idle -> k :: Counter -> Discard;\n\
               k[1] -> Discard;\n\
               Script(write k.resett, stop);\n\
               Idle -> eth :: Counter -> ehh;\n\
               DriverManager(print \"n=\"$(k.cuont), stop);\n";
    std::fs::write(d.join("all.click"), bad).unwrap();
    let o = run_in(&d.0, &["check", "all.click"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    let want = [
        "all.click:1:8: unknown element class 'InfiniteSorce' (did you mean 'InfiniteSource'?)",
        "all.click:2:12: 'q :: Queue': CAPACITY: expected an unsigned integer, got 'foo'",
        "all.click:3:14: unknown element class 'counter' (did you mean 'Counter'?)",
        "all.click:5:6: 'k :: Counter' has no output 1 (Counter takes 1 output)",
        "all.click:6:8: 'Script@10 :: Script': unknown handler 'k.resett' (did you mean 'k.reset'?)",
        "all.click:7:27: undeclared element 'ehh' (did you mean 'eth'?)",
        "all.click:8:15: 'DriverManager@14 :: DriverManager': unknown handler 'k.cuont' (did you mean 'k.count'?)",
    ];
    for w in want {
        assert!(lines.contains(&w), "missing {w:?} in:\n{err}");
    }
    let pos = |w: &str| lines.iter().position(|l| l == &w).unwrap();
    assert!(want.windows(2).all(|w| pos(w[0]) < pos(w[1])), "{err}");
    assert!(
        err.ends_with(&format!("all.click: {} errors\n", lines.len() - 1)),
        "{err}"
    );
    assert!(stdout(&o).is_empty());
}

/// `mbctl ARGS` run in `dir`, its standard output parsed as JSON.
fn json_in(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let o = run_in(dir, args);
    let v = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {:?} {}", stdout(&o), stderr(&o)));
    (o.status.code(), v)
}

#[test]
fn check_json_lists_every_error_with_its_position() {
    let d = Scratch::new("checkjson");
    let bad = "src :: InfiniteSorce(LIMIT 5);\n\
               Idle -> k :: Counter -> Discard;\n\
               Script(write k.resett, stop);\n";
    std::fs::write(d.join("all.click"), bad).unwrap();
    let (code, v) = json_in(&d.0, &["check", "--json", "all.click"]);
    assert_eq!(code, Some(1));
    let errs = v.as_array().expect("an array");
    assert_eq!(errs.len(), 2, "{v}");
    let e = &errs[0];
    assert_eq!(e["file"], "all.click");
    assert_eq!((e["line"].as_u64(), e["col"].as_u64()), (Some(1), Some(8)));
    assert_eq!(e["message"], "unknown element class 'InfiniteSorce'");
    assert_eq!(e["suggestion"], "InfiniteSource");
    let e = &errs[1];
    assert_eq!((e["line"].as_u64(), e["col"].as_u64()), (Some(3), Some(8)));
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("unknown handler 'k.resett'"));
    assert_eq!(e["suggestion"], "k.reset");

    std::fs::write(d.join("good.click"), "Idle -> Counter -> Discard;\n").unwrap();
    let (code, v) = json_in(&d.0, &["check", "good.click", "--json"]);
    assert_eq!(code, Some(0));
    assert_eq!(v, serde_json::json!([]));
}

#[test]
fn check_vm_refuses_what_a_guest_cannot_run() {
    let d = Scratch::new("checkvm");
    let cfg = "src :: FromDump(in.pcap) -> Countr -> Discard;\n\
               FromDevice(0) -> q :: Queue -> ToDevice(2);\n\
               Idle -> ToDump(out.pcap);\n";
    std::fs::write(d.join("vm.click"), cfg).unwrap();
    // As the host runs it: only the mistyped class.
    let o = run_in(&d.0, &["check", "vm.click"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).ends_with("vm.click: 1 error\n"),
        "{}",
        stderr(&o)
    );
    // For a VM with two NICs: the host-only classes by name and NIC 2 too,
    // every error in file order.
    let o = run_in(&d.0, &["check", "--vm", "--nics", "2", "vm.click"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "{err}");
    assert!(
        lines[0].starts_with("vm.click:1:1: 'src :: FromDump' reads or writes files"),
        "{err}"
    );
    assert!(
        lines[1].starts_with("vm.click:1:") && lines[1].contains("Counter"),
        "{err}"
    );
    assert!(
        lines[2].starts_with("vm.click:2:") && lines[2].contains("no NIC 2"),
        "{err}"
    );
    assert!(
        lines[3].starts_with("vm.click:3:9: ") && lines[3].contains(":: ToDump'"),
        "{err}"
    );
    assert_eq!(lines[4], "vm.click: 4 errors");
    // With three NICs, NIC 2 is there; the same errors as JSON.
    let (code, v) = json_in(
        &d.0,
        &["check", "--vm", "--nics", "3", "--json", "vm.click"],
    );
    assert_eq!(code, Some(1));
    let msgs: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(msgs.len(), 3, "{v}");
    assert!(msgs.iter().all(|m| !m.contains("no NIC")), "{v}");
    assert_eq!(v[2]["line"], 3);
    // A guest's config passes, and fails with too few NICs.
    let fw = repo().join("click-configs/firewall-vm.click");
    let fw = fw.to_str().unwrap();
    let o = run_in(&d.0, &["check", "--vm", "--nics", "2", fw]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).ends_with(", 0 errors\n"), "{}", stdout(&o));
    let o = run_in(&d.0, &["check", "--vm", "--nics", "1", fw]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no NIC 1"), "{}", stderr(&o));
    // --nics means nothing without --vm.
    let o = run_in(&d.0, &["check", "--nics", "1", fw]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn doc_json_is_an_element_map() {
    let d = Scratch::new("docjson");
    let (code, v) = json_in(&d.0, &["doc", "--json"]);
    assert_eq!(code, Some(0));
    let all = v.as_array().expect("an array");
    let class = |n: &str| {
        all.iter()
            .find(|c| c["name"] == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    let c = class("Counter");
    assert_eq!(c["portcount"], "1/1");
    assert_eq!(c["processing"], "a/a");
    assert_eq!(c["vm"], true);
    let handlers = c["handlers"].as_array().unwrap();
    assert!(
        handlers.contains(&serde_json::json!({"name": "count", "mode": "r"})),
        "{c}"
    );
    assert!(
        handlers.contains(&serde_json::json!({"name": "reset", "mode": "w"})),
        "{c}"
    );
    assert_eq!(class("FromDump")["vm"], false);
    assert!(class("FromDump")["portcount"]
        .as_str()
        .unwrap()
        .starts_with("0/"));
    // Every class `mbctl doc` lists is in the map.
    let list = stdout(&run_in(&d.0, &["doc"]));
    assert_eq!(list.lines().count(), all.len());

    let (code, q) = json_in(&d.0, &["doc", "--json", "Queue"]);
    assert_eq!(code, Some(0));
    assert_eq!(&q, class("Queue"));
    assert!(q["handlers"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!({"name": "capacity", "mode": "rw"})));
    let o = run_in(&d.0, &["doc", "--json", "Nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
}

#[test]
fn run_prints_handlers_like_click() {
    let d = Scratch::new("runh");
    let cfg = "Idle -> c :: Counter -> Discard";
    let o = run_in(&d.0, &["run", "-e", cfg, "-h", "c.count"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "0\n");
    let o = run_in(&d.0, &["run", "-e", cfg, "-h", "c.count", "-h", "c.class"]);
    assert_eq!(stdout(&o), "c.count:\n0\n\nc.class:\nCounter\n\n");
    let o = run_in(&d.0, &["run", "-e", cfg, "-h", "c.nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("c.nosuch"), "{}", stderr(&o));
}

#[test]
fn run_reports_config_errors_with_positions() {
    let d = Scratch::new("runerr");
    std::fs::write(d.join("e.click"), "Idle\n  -> Counter(x) -> Discard;\n").unwrap();
    let o = run_in(&d.0, &["run", "e.click"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("e.click:2:"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}

#[test]
fn run_copies_a_trace_tcpdump_reads() {
    let d = Scratch::new("trace");
    let demo = repo().join("click-configs/demo.pcap");
    let out = d.join("copy.pcap");
    let cfg = format!(
        "src :: FromDump({}, STOP true) -> c :: Counter -> ToDump({});\n\
         DriverManager(pause, print \"frames \"$(c.count), print >{} c.byte_count, stop);",
        demo.display(),
        out.display(),
        d.join("bytes.txt").display()
    );
    let o = run_in(&d.0, &["run", "--simtime", "-e", &cfg]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "frames 36\n");
    let bytes: usize = std::fs::read_to_string(d.join("bytes.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let input = std::fs::read(&demo).unwrap();
    // 36 records of 16-byte headers after the 24-byte file header.
    assert_eq!(bytes, input.len() - 24 - 36 * 16);
    let t = std::process::Command::new("tcpdump")
        .arg("-nr")
        .arg(&out)
        .output()
        .expect("running tcpdump (apt-get install tcpdump, or `make deps`)");
    let lines = String::from_utf8_lossy(&t.stdout).lines().count();
    assert_eq!(lines, 36, "tcpdump: {}", String::from_utf8_lossy(&t.stderr));
}

#[test]
fn doc_shows_one_class_or_the_list() {
    let d = Scratch::new("doc");
    let o = run_in(&d.0, &["doc", "Counter"]);
    assert_eq!(o.status.code(), Some(0));
    let t = stdout(&o);
    assert!(t.starts_with("`Counter"), "{t}");
    assert!(t.contains("# Handlers") && t.contains("# Example"), "{t}");
    let o = run_in(&d.0, &["doc"]);
    let list = stdout(&o);
    assert!(list.lines().any(|l| l.starts_with("Counter ")), "{list}");
    assert!(list.lines().any(|l| l.starts_with("FromDump ")), "{list}");
    assert!(
        list.lines().any(|l| l.starts_with("DriverManager ")),
        "{list}"
    );
    let o = run_in(&d.0, &["doc", "counter"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("did you mean Counter"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_help_has_examples() {
    let d = Scratch::new("help");
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["check", "--help"],
        &["doc", "--help"],
        &["agent", "--help"],
        &["env", "--help"],
    ] {
        let o = run_in(&d.0, args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(stdout(&o).contains("Examples:"), "{args:?}: {}", stdout(&o));
    }
}

/// `mbctl ARGS` in `dir` with its address space capped at 3 GB (`ulimit
/// -v`): an allocation a config sized at will fails there, not later.
fn run_capped(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("sh")
        .current_dir(dir)
        .arg("-c")
        .arg("ulimit -v 3000000 && exec \"$0\" \"$@\"")
        .arg(mb_tests_host::mbctl())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running mbctl under ulimit")
}

#[test]
fn sizes_a_config_sets_at_will_are_errors_not_aborts() {
    let d = Scratch::new("mem");
    for (file, cfg, col) in [
        (
            "len.click",
            "InfiniteSource(LENGTH 4294967295) -> Discard;\n",
            16,
        ),
        (
            "rated.click",
            "RatedSource(LENGTH 4294967295) -> Discard;\n",
            13,
        ),
        (
            "unstrip.click",
            "InfiniteSource(LIMIT 1) -> Unstrip(4294967295) -> Discard;\n",
            36,
        ),
    ] {
        std::fs::write(d.join(file), cfg).unwrap();
        for cmd in ["check", "run"] {
            let o = run_capped(&d.0, &[cmd, file]);
            let err = stderr(&o);
            assert_eq!(
                o.status.code(),
                Some(1),
                "{cmd} {file}: {:?} {err}",
                o.status
            );
            assert!(err.contains(&format!("{file}:1:{col}:")), "{cmd}: {err}");
            assert!(err.contains("too large (at most 65535)"), "{cmd}: {err}");
        }
    }
    // A script that doubles a string passes the check and stops at the
    // bound when it runs, with the reason; the router goes idle and exits.
    std::fs::write(
        d.join("grow.click"),
        "Script(set x a, label l, set x $x$x, goto l);\n",
    )
    .unwrap();
    let o = run_capped(&d.0, &["check", "grow.click"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_capped(&d.0, &["run", "grow.click"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{:?} {err}", o.status);
    assert!(
        err.contains("a string grew past 1048576 bytes; the script stops"),
        "{err}"
    );
}
