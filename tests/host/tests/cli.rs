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
    // An unknown class, a bad argument, a bad connection, and a script
    // writing a mistyped handler: all reported in one run, in file order.
    let bad = "src :: InfiniteSorce(LIMIT 5);\n\
               q :: Queue(foo);\n\
               Idle -> c :: counter -> Discard;\n\
               Idle -> k :: Counter -> Discard;\n\
               k[1] -> Discard;\n\
               Script(write k.resett, stop);\n";
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
