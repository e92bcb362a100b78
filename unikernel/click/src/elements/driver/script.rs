//! `Script(INSTRUCTIONS...)`: runs a small script that reads and writes handlers, prints, waits and stops the router.
//!
//! Each argument is one instruction; text undergoes `$` substitution at run
//! time: `$var` (script variables), `$(elem.handler ARGS)` (a read handler's
//! value), `$?` (status of the last `write`), `$args`, `$1`..`$9`, `$#`
//! (arguments of a `run` call).
//!
//! Instructions:
//! * `print [>FILE | >>FILE] TEXT|HANDLER` (and `printn` without the
//!   newline; `printq`/`printnq` unquote handler arguments): if the
//!   argument starts with a letter, `@` or `_` it names a read handler whose
//!   value is printed; otherwise it is text, substituted and unquoted. A
//!   newline is added unless the value ends with one. `>FILE` truncates the
//!   file first, `>>FILE` appends; the default is standard output.
//! * `read HANDLER [ARGS]`: prints `HANDLER:\nVALUE\n` as a diagnostic.
//! * `write HANDLER [VALUE]` (`writeq` unquotes VALUE): calls a write
//!   handler; `$?` is 0 on success.
//! * `set VAR TEXT`, `setq VAR TEXT` (unquoted), `init VAR TEXT` and
//!   `initq` (once, at initialization).
//! * `save HANDLER [FILE]`, `append HANDLER [FILE]`: print a handler's value
//!   to a file (truncating or appending).
//! * `pause [N]` (also `wait_step`, `wait_stop`, and `wait` without a time):
//!   wait for N steps (the `step` handler; for driver scripts, driver stop
//!   events).
//! * `wait TIME` (also `wait_time`, `wait_for`): wait for TIME, or a step.
//! * `label L`, `goto L [COND]` (only if COND is true), `loop` (back to the
//!   start); `goto end|exit|stop|error` end the script likewise. A script
//!   that jumps 1000 times without blocking is disabled.
//! * `end`, `exit`: end the script. `stop`: stop the router (in a driver
//!   script), or send a driver stop event.
//! * `return [TEXT]` (`returnq`): end a `run` call with a value.
//! * `error [MSG]`: end with an error.
//!
//! # Ports
//! None.
//!
//! # Processing
//! None: a script only calls handlers.
//!
//! # Keywords
//! * `TYPE` (`ACTIVE`, `PASSIVE` or `DRIVER`, default `ACTIVE`): an active
//!   script starts when the router starts; a passive one runs when its
//!   `run` handler is called; a driver script is an active script that also
//!   receives driver stop events (see DriverManager).
//!
//! # Handlers
//! * `step` (write): advance past the current `pause` or `wait` (a number
//!   steps that many times).
//! * `goto` (write): continue at a label.
//! * `run` (read/write): run the script from the start; a read returns the
//!   `return` value. Writing passes arguments (`$args`, `$1` ...).
//! * `now` (read): the current time.
//! * `add`, `sub`, `mul`, `div`, `idiv`, `mod`, `rem`, `neg`, `abs`, `min`,
//!   `max`, `eq`, `ne`, `lt`, `gt`, `le`, `ge`, `not`, `and`, `or`, `nand`,
//!   `nor`, `if`, `in`, `first`, `length`, `unquote`, `sprintf`: helpers
//!   with parameters, usable inside the script as `$(add $x 1)`.
//!
//! # Example
//! ```text
//! c :: Counter;
//! InfiniteSource(LIMIT 5) -> c -> Discard;
//! Script(wait 1s, print "count "$(c.count), set x $(add $(c.count) 1),
//!        print $x, stop);
//! ```

use crate::error::{ConfigError, ErrorKind};
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use core::cell::RefCell;

use super::interp::{Interp, Outcome, ScriptType, StepKind, WAIT_TIMER};
use crate::confparse::Args;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::router::Ctx;

/// The `Script` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Script",
    ports: "0/0",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| Script::configure(args, ScriptType::Active).map(|s| Box::new(s) as _),
};

/// A running script (`Script` and `DriverManager`).
pub struct Script {
    interp: RefCell<Interp>,
    /// A driver script whose first instruction does not wait runs at once,
    /// as if a stop event had arrived.
    initial_router_step: bool,
}

impl Script {
    /// Reads the `TYPE` keyword and the instructions.
    pub fn configure(args: &mut Args, default: ScriptType) -> Result<Script, ConfigError> {
        let kind = match args.keyword::<String>("TYPE")?.as_deref().map(str::trim) {
            None => default,
            Some("ACTIVE") => ScriptType::Active,
            Some("PASSIVE") => ScriptType::Passive,
            Some("DRIVER") => ScriptType::Driver,
            Some(other) => {
                return Err(ConfigError::new(
                    ErrorKind::BadValue,
                    alloc::format!("bad TYPE '{other}' (expected ACTIVE, PASSIVE or DRIVER)"),
                ))
            }
        };
        let insns = args.rest_raw();
        Ok(Script {
            interp: RefCell::new(Interp::parse(kind, &insns)?),
            initial_router_step: false,
        })
    }

    /// The `elem.handler` names the script calls as written
    /// (see [`Interp::handler_calls`]).
    pub fn handler_calls(&self) -> alloc::vec::Vec<String> {
        self.interp.borrow().handler_calls()
    }

    fn router_step(&mut self, cx: &Ctx) {
        if self.interp.get_mut().step(cx, 1, StepKind::Router) == Outcome::Finished {
            cx.stop_router();
        }
    }
}

impl Element for Script {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        let interp = self.interp.get_mut();
        if interp.kind == ScriptType::Driver {
            cx.listen_for_stop();
        }
        if interp.initialize(cx)? {
            self.initial_router_step = true;
            cx.schedule();
        }
        Ok(())
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        let mut worked = false;
        if core::mem::take(&mut self.initial_router_step) {
            self.router_step(cx);
            worked = true;
        }
        while !cx.router().is_stopped() && cx.take_stop_request() {
            self.router_step(cx);
            worked = true;
        }
        cx.unschedule();
        worked
    }

    fn run_timer(&mut self, cx: &Ctx, id: u32) {
        if id == WAIT_TIMER {
            self.interp.get_mut().step(cx, 1, StepKind::Timer);
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::write("step"),
            HandlerDecl::write("goto"),
            HandlerDecl::rw("run"),
            HandlerDecl::read("now"),
        ];
        H
    }

    fn read_handler(&self, cx: &Ctx, name: &str) -> String {
        match name {
            "run" => match self.interp.try_borrow_mut() {
                Ok(mut i) => i.run(cx, "").unwrap_or_default(),
                Err(_) => String::new(),
            },
            "now" => cx.now().to_string(),
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        let interp = self.interp.get_mut();
        match name {
            "step" => {
                let router = value.trim() == "router";
                let o = interp.step_handler(cx, value)?;
                if router && o == Outcome::Finished {
                    cx.stop_router();
                }
                Ok(())
            }
            "goto" => Ok(interp.goto_handler(cx, value)?),
            "run" => Ok(interp.run(cx, value).map(|_| ())?),
            _ => Err(ConfigError::not_writable(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::packet::Packet;
    use crate::testing::{flat, router};
    use crate::time::{SimClock, Timestamp};

    #[test]
    fn active_script_prints_sets_and_loops() {
        let (r, host) = router(flat(
            &[(
                "s",
                "Script",
                "set x 0, label top, print $x, set x $(add $x 1), goto top $(lt $x 3), \
                 print \"done \"$x, end",
            )],
            &[],
        ));
        r.run_until_idle();
        assert_eq!(&*host.stdout.borrow(), "0\n1\n2\ndone 3\n");
    }

    #[test]
    fn a_string_doubling_in_a_loop_stops_the_script() {
        let (r, host) = router(flat(
            &[(
                "s",
                "Script",
                "set x a, label top, set x $x$x, print $(length $x), goto top",
            )],
            &[],
        ));
        r.run_until_idle();
        let out = host.stdout.borrow().clone();
        let lens: alloc::vec::Vec<usize> = out.lines().map(|l| l.parse().unwrap()).collect();
        // It doubled up to the bound (where `length $x` no longer fits a
        // line), then stopped instead of growing on.
        assert_eq!(
            lens.last(),
            Some(&(super::super::expand::MAX_STRING / 2)),
            "{out}"
        );
        assert_eq!(lens.len(), 19, "{out}");
        let log = host.logs.borrow().join("\n");
        assert!(log.contains("grew past 1048576 bytes"), "{log}");
        assert!(!r.is_stopped(), "the router goes on");
    }

    #[test]
    fn wait_uses_the_router_clock_and_stop_stops() {
        let (r, host) = router(flat(
            &[("s", "Script", "wait 2s, print $(s.now), stop")],
            &[],
        ));
        assert!(r.run_until_idle());
        let want = SimClock::START + Timestamp::new(2, 0);
        assert_eq!(&*host.stdout.borrow(), &alloc::format!("{want}\n"));
        assert!(r.is_stopped());
    }

    #[test]
    fn passive_run_returns_a_value() {
        let (r, _h) = router(flat(
            &[
                ("i", "Idle", ""),
                ("c", "Counter", ""),
                ("d", "Discard", ""),
                ("s", "Script", "TYPE PASSIVE, return $(mul $(c.count) 10)"),
            ],
            &[(0, 0, 1, 0), (1, 0, 2, 0)],
        ));
        r.inject(1, 0, Packet::new(60));
        assert_eq!(r.read("s.run").unwrap(), "10");
        // Running it does not disturb the router.
        assert!(!r.is_stopped());
    }

    #[test]
    fn step_handler_releases_a_pause() {
        let (r, host) = router(flat(
            &[("s", "Script", "pause, print \"after\", print nosuch.h, end")],
            &[],
        ));
        r.run_until_idle();
        assert_eq!(&*host.stdout.borrow(), "");
        r.write("s.step", "").unwrap();
        assert_eq!(&*host.stdout.borrow(), "after\n");
        // A missing handler is reported, and prints nothing.
        assert!(host.logs.borrow().iter().any(|l| l.contains("nosuch")));
    }

    #[test]
    fn bad_instructions_are_configuration_errors() {
        let e = crate::testing::build(flat(&[("s", "Script", "frobnicate, wait soon")], &[]))
            .err()
            .unwrap();
        let msg = alloc::format!("{e}");
        assert!(msg.contains("syntax error at 'frobnicate'"), "{msg}");
        assert!(msg.contains("syntax error at 'wait'"), "{msg}");
        let e = crate::testing::build(flat(&[("s", "Script", "goto nowhere")], &[]))
            .err()
            .unwrap();
        assert!(alloc::format!("{e}").contains("no such label 'nowhere'"));
    }
}
