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
fn a_rejected_handler_value_keeps_its_kind() {
    let (r, _) = router(flat(
        &[("i", "Idle", ""), ("d", "Discard", "")],
        &[(0, 0, 1, 0)],
    ));
    match r.write("d.active", "maybe") {
        Err(crate::router::HandlerError::Failed(h, e)) => {
            assert_eq!(h, "d.active");
            assert_eq!(e.kind, crate::error::ErrorKind::BadValue);
            assert_eq!(e.to_string(), "expected true or false, got 'maybe'");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_mistyped_handler_gets_a_suggestion() {
    let (r, _) = router(flat(
        &[
            ("i", "Idle", ""),
            ("c", "Counter", ""),
            ("d", "Discard", ""),
        ],
        &[(0, 0, 1, 0), (1, 0, 2, 0)],
    ));
    assert_eq!(
        r.read("c.cont").unwrap_err().to_string(),
        "unknown handler 'c.cont' (did you mean 'c.count'?)"
    );
    assert_eq!(
        r.read("lst").unwrap_err().to_string(),
        "unknown handler 'lst' (did you mean 'list'?)"
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

/// A real-time-like clock (not simulated) that counts its readings.
struct CountingClock {
    now: core::cell::Cell<i64>,
    reads: alloc::rc::Rc<core::cell::Cell<u32>>,
}

impl crate::time::Clock for CountingClock {
    fn now(&self) -> crate::time::Timestamp {
        self.reads.set(self.reads.get() + 1);
        let t = self.now.get() + 1_000;
        self.now.set(t);
        crate::time::Timestamp(t)
    }
}

#[test]
fn recent_time_reads_the_clock_every_few_steps_and_after_idle() {
    let reads = alloc::rc::Rc::new(core::cell::Cell::new(0));
    let env = super::Env {
        clock: alloc::boxed::Box::new(CountingClock {
            now: core::cell::Cell::new(5_000_000_000),
            reads: reads.clone(),
        }),
        host: alloc::boxed::Box::new(crate::host::MemoryHost::default()),
    };
    // An endless source through a Counter: every step works, and the
    // Counter wants a time for every packet.
    let r = crate::router::Router::from_source(
        "InfiniteSource(LENGTH 8, BURST 1) -> c :: Counter -> Discard;",
        "t",
        &[],
        &crate::testing::registry(),
        env,
    )
    .unwrap();
    let before = reads.get();
    for _ in 0..10 * (super::RECENT_STEPS + 1) {
        assert_eq!(r.step(), super::Step::Worked);
    }
    // InfiniteSource stamps each packet with the exact time (90 readings,
    // as Click's does); the router adds one reading per RECENT_STEPS + 1
    // steps for the Counter, not one per packet.
    assert_eq!(reads.get() - before, 90 + 10);
    assert_eq!(r.read("c.count").unwrap(), "90");
    // The recent time moves with those readings.
    let seen = r.with_element(0, |_, cx| cx.recent()).unwrap();
    assert!(seen.0 > 5_000_000_000 && seen.0 <= 5_000_000_000 + 1_000 * reads.get() as i64);
    // Once idle (the driver may sleep), every step reads the clock again.
    r.write("c.reset", "").unwrap();
    r.with_element(0, |e, cx| e.write_handler(cx, "active", "false"))
        .unwrap()
        .unwrap();
    assert!(matches!(
        r.step(),
        super::Step::Worked | super::Step::Idle(_)
    ));
    let before = reads.get();
    for _ in 0..3 {
        assert_eq!(r.step(), super::Step::Idle(None));
    }
    assert_eq!(reads.get() - before, 3);
}

#[test]
fn recent_time_is_exact_on_a_simulated_clock() {
    let (r, _) = crate::testing::router_from_source("i :: Idle -> Discard;");
    let t0 = r.with_element(0, |_, cx| cx.recent()).unwrap();
    r.clock().advance_to(t0 + crate::time::Timestamp(7));
    let t1 = r.with_element(0, |_, cx| cx.recent()).unwrap();
    assert_eq!(t1, t0 + crate::time::Timestamp(7));
}

#[test]
fn push_loops_queue_instead_of_reentering() {
    // Strip feeds a Classifier that sends packets still starting with ff
    // back into Strip, which is still running: they must be queued and
    // delivered after it returns, one by one and in batches.
    let (r, _) = crate::testing::router_from_source(
        "i :: Idle -> st :: Strip(1) -> c :: Counter -> cl :: Classifier(0/ff, -);
         cl[0] -> st; cl[1] -> s :: TestSink;",
    );
    let st = r.find("st").unwrap();
    r.inject(st, 0, Packet::from_slice(&[0, 0xff, 0xff, 1]));
    assert_eq!(sink_contents(&r, "s"), vec![(0, vec![1])]);
    assert_eq!(r.read("c.count").unwrap(), "3");
    let mut b = crate::batch::Batch::new();
    for d in [&[0u8, 0xff, 2][..], &[0, 3], &[0, 0xff, 0xff, 4]] {
        b.push(Packet::from_slice(d)).unwrap();
    }
    r.with_element(st, |e, cx| e.push_batch(cx, 0, b)).unwrap();
    let got: alloc::vec::Vec<alloc::vec::Vec<u8>> =
        sink_contents(&r, "s").into_iter().map(|(_, d)| d).collect();
    assert_eq!(got, vec![vec![1], vec![3], vec![2], vec![4]]);
    assert_eq!(r.read("c.count").unwrap(), "9");
}

#[test]
fn a_copy_without_memory_is_a_counted_drop() {
    let (r, _) = crate::testing::router(crate::testing::flat(
        &[
            ("t", "Tee", "2"),
            ("a", "TestSink", ""),
            ("b", "TestSink", ""),
            ("i", "Idle", ""),
        ],
        &[(3, 0, 0, 0), (0, 0, 1, 0), (0, 1, 2, 0)],
    ));
    crate::fallible::fail_in_tests(true);
    r.inject(0, 0, crate::packet::Packet::from_slice(&[1, 2, 3]));
    crate::fallible::fail_in_tests(false);
    assert!(crate::testing::sink_contents(&r, "a").is_empty());
    assert_eq!(crate::testing::sink_contents(&r, "b").len(), 1);
    assert_eq!(r.read("nomem_drops").unwrap(), "1");
    r.inject(0, 0, crate::packet::Packet::from_slice(&[1, 2, 3]));
    assert_eq!(crate::testing::sink_contents(&r, "a").len(), 1);
    assert_eq!(r.read("nomem_drops").unwrap(), "1");
}

#[test]
fn a_build_told_memory_ran_out_stops_with_an_error() {
    crate::fallible::set_exhausted(true);
    let e = build(flat(
        &[("i", "Idle", ""), ("d", "Discard", "")],
        &[(0, 0, 1, 0)],
    ));
    crate::fallible::set_exhausted(false);
    let e = e.err().expect("abandoned").to_string();
    assert!(e.contains("out of memory (configuration abandoned)"), "{e}");
    assert!(build(flat(
        &[("i", "Idle", ""), ("d", "Discard", "")],
        &[(0, 0, 1, 0)]
    ))
    .is_ok());
}

#[test]
fn check_source_reports_every_error_with_suggestions() {
    let src = "src :: InfiniteSorce(LIMIT 5);\n\
               q :: Queue(foo);\n\
               src -> c :: Counter -> q -> Unqueue -> discard;\n\
               c[1] -> Discard;\n\
               Script(write c.resett, read nobody.count, stop);\n";
    let reg = crate::Registry::standard();
    let errs = crate::Router::check_source(src, "t.click", &[], &reg).unwrap_err();
    let got: alloc::vec::Vec<_> = errs
        .0
        .iter()
        .map(|e| (e.span.line, e.message.as_str(), e.suggestion.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                1,
                "unknown element class 'InfiniteSorce'",
                Some("InfiniteSource")
            ),
            (
                2,
                "'q :: Queue': CAPACITY: expected an unsigned integer, got 'foo'",
                None
            ),
            (3, "undeclared element 'discard'", Some("Discard")),
            (
                4,
                "'c :: Counter' has no output 1 (Counter takes 1 output)",
                None
            ),
            (4, "'Discard@6 :: Discard' input 0 unused", None),
            (
                5,
                "'Script@7 :: Script': unknown handler 'c.resett'",
                Some("c.reset")
            ),
            (5, "'Script@7 :: Script': no element named 'nobody'", None),
        ],
        "{errs}"
    );
    // The first error, as `mbctl check` prints it.
    assert_eq!(
        errs.0[0].to_string(),
        "t.click:1:8: unknown element class 'InfiniteSorce' (did you mean 'InfiniteSource'?)"
    );
    let good = "Idle -> c :: Counter -> Discard; Script(write c.reset, stop);";
    assert_eq!(
        crate::Router::check_source(good, "t", &[], &reg),
        Ok((4, 2))
    );
}

#[test]
fn handler_calls_list_expansions_once_and_skip_variables_and_labels() {
    use crate::elements::driver::interp::{Interp, ScriptType};
    let insns: alloc::vec::Vec<_> = [
        "print $(c.cuont)",
        "read c.count",
        "write c.reset $(q.length)",
        "set x \"n=\"$(c.count) '$(quoted.h)'",
        "goto begin $(lt $(s.add 1 1) 3)",
        "print $($x.count) $(add 1 2)",
        "label $(not.expanded)",
        "stop",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let calls = Interp::parse(ScriptType::Driver, &insns)
        .unwrap()
        .handler_calls();
    assert_eq!(
        calls,
        ["c.cuont", "c.count", "c.reset", "q.length", "s.add"]
    );
}

#[test]
fn check_source_checks_driver_manager_and_expanded_handler_calls() {
    let src = "Idle -> cnt :: Counter -> Discard;\n\
               DriverManager(print cnt.cuont, print \"n=\"$(cnt.cuont), print $(cn.count), stop);\n\
               Script(set x $(cnt.rset), print $(cnt.count), stop);\n";
    let reg = crate::Registry::standard();
    let errs = crate::Router::check_source(src, "t.click", &[], &reg).unwrap_err();
    let got: alloc::vec::Vec<_> = errs
        .0
        .iter()
        .map(|e| (e.span.line, e.message.as_str(), e.suggestion.as_deref()))
        .collect();
    let dm = "'DriverManager@4 :: DriverManager'";
    assert_eq!(
        got,
        vec![
            (
                2,
                &*alloc::format!("{dm}: unknown handler 'cnt.cuont'"),
                Some("cnt.count")
            ),
            (
                2,
                &*alloc::format!("{dm}: no element named 'cn'"),
                Some("cnt")
            ),
            (
                3,
                "'Script@5 :: Script': unknown handler 'cnt.rset'",
                Some("cnt.reset")
            ),
        ],
        "{errs}"
    );
    let good = "Idle -> c :: Counter -> Discard;\n\
                DriverManager(print \"n=\"$(c.count), write c.reset $(c.count), stop);";
    assert_eq!(
        crate::Router::check_source(good, "t", &[], &reg),
        Ok((4, 2))
    );
}

#[test]
fn an_element_error_points_into_its_arguments() {
    use crate::testing::registry;
    let reg = registry();
    let text =
        "Idle -> f :: IPFilter(allow tcp,\n   /* why */ allow udp and port foo)\n -> Discard;\n";
    let flat = crate::lang::parse(text, "t.click", &[], &|c| reg.get(c).is_some()).unwrap();
    let e = crate::Router::check(flat, &reg).unwrap_err();
    assert!(
        e.0[0]
            .message
            .contains("expected port number or name, got 'foo'"),
        "{}",
        e.0[0].message
    );
    assert_eq!((e.0[0].span.line, e.0[0].span.col), (2, 33));
}

#[test]
fn after_an_address_name_the_error_points_at_its_rule() {
    use crate::testing::registry;
    let reg = registry();
    // The name is replaced by its address before parsing, so offsets past
    // it would be wrong: the error points at the rule's start instead.
    let text = "AddressInfo(me 10.0.0.1);\nIdle -> IPFilter(allow tcp, allow src host me and port foo) -> Discard;\n";
    let flat = crate::lang::parse(text, "t.click", &[], &|c| reg.get(c).is_some()).unwrap();
    let e = crate::Router::check(flat, &reg).unwrap_err();
    assert!(e.0[0].message.contains("got 'foo'"), "{}", e.0[0].message);
    assert_eq!((e.0[0].span.line, e.0[0].span.col), (2, 29));
}

#[test]
fn step_rounds_runs_that_many_rounds_or_until_stopped() {
    // One packet per task round: a step of 5 rounds emits 5.
    let (r, _) = crate::testing::router_from_source(
        "src :: InfiniteSource(LENGTH 8, BURST 1, LIMIT 12, STOP true) -> c :: Counter -> Discard;",
    );
    assert_eq!(r.step_rounds(5), super::Step::Worked);
    assert_eq!(r.read("c.count").unwrap(), "5");
    // The source's stop ends the step early.
    assert_eq!(r.step_rounds(100), super::Step::Stopped);
    assert_eq!(r.read("c.count").unwrap(), "12");
}

#[test]
fn batch_preserves_order_only_for_trees_of_per_packet_elements() {
    let ok = |cfg: &str| {
        let (r, _) = crate::testing::router_from_source(cfg);
        r.batch_preserves_order(r.find("s").unwrap(), 0)
    };
    assert!(ok(
        "s :: Idle -> c :: Classifier(12/0800, -) -> Strip(14) -> Discard;\nc[1] -> Discard;"
    ));
    assert!(
        !ok("s :: Idle -> c :: Classifier(12/0800, -) -> d :: Discard;\nc[1] -> d;"),
        "merge"
    );
    assert!(
        !ok("s :: Idle -> Strip(14) -> Counter -> Discard;"),
        "Counter can call handlers"
    );
    assert!(!ok("s :: Idle -> Queue -> Unqueue -> Discard;"), "pull");
}
