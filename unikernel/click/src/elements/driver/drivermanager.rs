//! `DriverManager(INSTRUCTIONS...)`: a Script that decides what happens on driver stop events.
//!
//! A driver stop event is a request to end the run, for example from
//! `FromDump(..., STOP true)` at the end of its trace. Without a
//! DriverManager the first such event stops the router. With one, each
//! event steps its script instead (a `pause` waits for the next event), and
//! the router stops only at the script's `stop` instruction or its end.
//! The instructions are Script's; `print e.h` prints the handler's value
//! followed by a newline if it lacks one.
//!
//! # Ports
//! None.
//!
//! # Processing
//! None: it only calls handlers.
//!
//! # Keywords
//! * `TYPE`: as Script's; the default is `DRIVER`.
//!
//! # Handlers
//! As Script's: `step`, `goto`, `run`, `now`, and the helpers.
//!
//! # Example
//! ```text
//! FromDump(in.pcap, STOP true) -> c :: Counter -> Discard;
//! DriverManager(pause, print c.count, print >>counts.txt "seen "$(c.count), stop);
//! ```

use alloc::boxed::Box;

use super::interp::ScriptType;
use super::script::Script;
use crate::element::ElementClass;

/// The `DriverManager` class.
pub static CLASS: ElementClass = ElementClass {
    name: "DriverManager",
    ports: "0/0",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| Script::configure(args, ScriptType::Driver).map(|s| Box::new(s) as _),
};

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{flat, router};

    fn counter_graph(dm: &str) -> (crate::Router, alloc::rc::Rc<crate::host::MemoryHost>) {
        router(flat(
            &[
                ("i", "Idle", ""),
                ("c", "Counter", ""),
                ("d", "Discard", ""),
                ("dm", "DriverManager", dm),
            ],
            &[(0, 0, 1, 0), (1, 0, 2, 0)],
        ))
    }

    #[test]
    fn pause_waits_for_a_stop_event_then_prints() {
        let (r, host) = counter_graph(
            "pause, print c.count, print \"c=\"$(c.count), \
             print >out.txt \"a \"$(c.count), print >>out.txt c.count, stop",
        );
        for _ in 0..3 {
            r.inject(1, 0, Packet::new(60));
        }
        // Nothing runnable, nothing printed: the script waits.
        assert!(!r.run_until_idle());
        assert_eq!(&*host.stdout.borrow(), "");
        r.with_element(1, |_, cx| cx.request_stop());
        assert!(r.run_until_idle());
        assert_eq!(&*host.stdout.borrow(), "3\nc=3\n");
        assert_eq!(
            host.files.borrow().as_slice(),
            &[("out.txt".into(), "a 3\n3\n".into())]
        );
    }

    #[test]
    fn two_pauses_need_two_events() {
        let (r, host) = counter_graph("pause, print \"one\", pause, print \"two\"");
        r.with_element(1, |_, cx| cx.request_stop());
        assert!(!r.run_until_idle());
        assert_eq!(&*host.stdout.borrow(), "one\n");
        r.with_element(1, |_, cx| cx.request_stop());
        // The implicit `stop` after the last instruction ends the run.
        assert!(r.run_until_idle());
        assert_eq!(&*host.stdout.borrow(), "one\ntwo\n");
    }

    #[test]
    fn a_script_that_does_not_wait_runs_at_start() {
        let (r, host) = counter_graph("print \"hello\", wait 1s, print \"later\", stop");
        assert!(r.run_until_idle());
        assert_eq!(&*host.stdout.borrow(), "hello\nlater\n");
    }

    #[test]
    fn write_calls_handlers_and_sets_status() {
        let (r, host) = counter_graph("write c.reset, print $?, write c.nosuch, print $?, stop");
        r.inject(1, 0, Packet::new(60));
        assert!(r.run_until_idle());
        assert_eq!(&*host.stdout.borrow(), "0\n-22\n");
        assert_eq!(r.read("c.count").unwrap(), "0");
    }
}
