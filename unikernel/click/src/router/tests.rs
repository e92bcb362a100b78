use alloc::string::ToString;
use alloc::vec;

use crate::packet::Packet;
use crate::testing::{build, flat, router, sink_contents};

fn errors_of(f: crate::lang::FlatConfig) -> alloc::vec::Vec<alloc::string::String> {
    match build(f) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn push_chain_counts_and_delivers() {
    let (r, _) = router(flat(
        &[
            ("i", "Idle", ""),
            ("c", "Counter", ""),
            ("s", "TestSink", ""),
        ],
        &[(0, 0, 1, 0), (1, 0, 2, 0)],
    ));
    r.inject(1, 0, Packet::from_slice(&[1, 2, 3]));
    r.inject(1, 0, Packet::from_slice(&[4]));
    assert_eq!(r.read("c.count").unwrap(), "2");
    assert_eq!(r.read("c.byte_count").unwrap(), "4");
    assert_eq!(
        sink_contents(&r, "s"),
        vec![(0, vec![1, 2, 3]), (0, vec![4])]
    );
    r.write("c.reset", "").unwrap();
    assert_eq!(r.read("c.count").unwrap(), "0");
}

#[test]
fn generic_and_router_handlers() {
    let (r, _) = router(flat(
        &[
            ("i", "Idle", ""),
            ("c", "Counter", ""),
            ("d", "Discard", ""),
        ],
        &[(0, 0, 1, 0), (1, 0, 2, 0)],
    ));
    assert_eq!(r.read("c.class").unwrap(), "Counter");
    assert_eq!(r.read("c.name").unwrap(), "c");
    assert_eq!(r.read("list").unwrap(), "3\ni\nc\nd\n");
    assert_eq!(r.read("classes").unwrap(), "Counter\nDiscard\nIdle\n");
    assert!(r.read("c.handlers").unwrap().contains("count\tr\n"));
    assert_eq!(
        r.read("c.ports").unwrap(),
        "1 input\npush~\ti [0]\n1 output\npush~\t[0] d\n"
    );
    assert_eq!(
        r.read("flatconfig").unwrap(),
        "i :: Idle;\nc :: Counter;\nd :: Discard;\n\ni -> c\n    -> d;\n"
    );
    assert_eq!(
        r.read("c.bogus").unwrap_err().to_string(),
        "unknown handler 'c.bogus'"
    );
    assert_eq!(
        r.read("x.count").unwrap_err().to_string(),
        "no element named 'x'"
    );
    assert_eq!(
        r.write("c.count", "1").unwrap_err().to_string(),
        "handler 'c.count' is read-only"
    );
    assert_eq!(
        r.read("c.reset").unwrap_err().to_string(),
        "handler 'c.reset' is write-only"
    );
}

#[test]
fn unknown_class_is_located() {
    let e = errors_of(flat(&[("x", "Frobnicate", "")], &[]));
    assert_eq!(e, vec!["test:1:1: unknown element class 'Frobnicate'"]);
}

#[test]
fn bad_argument_is_located() {
    let e = errors_of(flat(&[("d", "Discard", "ACTIVE maybe")], &[]));
    assert!(
        e.contains(
            &"test:1:1: 'd :: Discard': ACTIVE: expected true or false, got 'maybe'".to_string()
        ),
        "{e:?}"
    );
    let e = errors_of(flat(
        &[("c", "Counter", "1"), ("d", "Discard", "")],
        &[(0, 0, 1, 0)],
    ));
    assert!(e[0].contains("'c :: Counter': too many arguments"), "{e:?}");
}

#[test]
fn unused_ports_and_missing_ports() {
    let e = errors_of(flat(
        &[("c", "Counter", ""), ("d", "Discard", "")],
        &[(0, 0, 1, 0), (0, 1, 1, 0)],
    ));
    assert!(
        e.contains(
            &"test:101:1: 'c :: Counter' has no output 1 (Counter takes 1 output)".to_string()
        ),
        "{e:?}"
    );
    let e = errors_of(flat(&[("c", "Counter", "")], &[]));
    assert_eq!(
        e,
        vec![
            "test:1:1: 'c :: Counter' input 0 unused",
            "test:1:1: 'c :: Counter' output 0 unused"
        ]
    );
}

#[test]
fn push_output_reuse_is_an_error() {
    let e = errors_of(flat(
        &[
            ("c", "Counter", ""),
            ("d", "Discard", ""),
            ("d2", "Discard", ""),
        ],
        &[(0, 0, 1, 0), (0, 0, 2, 0)],
    ));
    assert!(
        e.iter()
            .any(|m| m.contains("illegal reuse of 'c :: Counter' push output 0")),
        "{e:?}"
    );
}

#[test]
fn hotswap_keeps_state_of_same_name_and_class() {
    let g = || {
        flat(
            &[
                ("i", "Idle", ""),
                ("c", "Counter", ""),
                ("d", "Discard", ""),
            ],
            &[(0, 0, 1, 0), (1, 0, 2, 0)],
        )
    };
    let (old, _) = router(g());
    old.inject(1, 0, Packet::from_slice(&[1, 2]));
    let (new, _) = router(g());
    // i, c and d all have namesakes of the same class.
    assert_eq!(new.take_state_from(&old), 3);
    assert_eq!(new.read("c.count").unwrap(), "1");
    // Same name, other class: no state moves (only `i` matches).
    let (other, _) = router(flat(
        &[("i", "Idle", ""), ("c", "Discard", "")],
        &[(0, 0, 1, 0)],
    ));
    assert_eq!(other.take_state_from(&new), 1);
    assert_eq!(other.read("c.class").unwrap(), "Discard");
}

#[test]
fn check_reports_errors_without_initializing() {
    use crate::testing::registry;
    // A valid graph passes; Script's `wait` would set a timer at
    // initialization, which check never runs.
    let ok = flat(
        &[
            ("i", "Idle", ""),
            ("d", "Discard", ""),
            ("s", "Script", "wait 1s, stop"),
        ],
        &[(0, 0, 1, 0)],
    );
    assert!(crate::Router::check(ok, &registry()).is_ok());
    let bad = flat(&[("i", "Idle", ""), ("x", "NoSuch", "")], &[(0, 0, 1, 0)]);
    let e = crate::Router::check(bad, &registry()).unwrap_err();
    assert!(e.0[0].message.contains("unknown element class 'NoSuch'"));
    assert_eq!(e.0[0].span.line, 2);
}

#[test]
fn a_stop_event_from_a_script_steps_the_driver_manager() {
    use crate::testing::router_from_source;
    let (r, host) = router_from_source(
        "Idle -> c :: Counter -> Discard;\n\
         Script(write c.reset, stop);\n\
         DriverManager(pause, print \"stopped\", stop);",
    );
    assert!(r.run_until_idle());
    assert_eq!(&*host.stdout.borrow(), "stopped\n");
}

#[test]
fn from_source_reports_located_errors() {
    let (r, _) = crate::testing::router_from_source("i :: Idle -> c :: Counter -> Discard;");
    assert_eq!(r.read("c.class").unwrap(), "Counter");
    assert_eq!(
        r.read("config").unwrap(),
        "i :: Idle -> c :: Counter -> Discard;"
    );
    let err = crate::testing::build_from_source("Idle -> Counter(x) -> Discard;")
        .err()
        .expect("error")
        .to_string();
    assert_eq!(
        err,
        "config:1:17: 'Counter@2 :: Counter': too many arguments (unexpected 'x')"
    );
}
