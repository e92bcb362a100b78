//! The script interpreter shared by `Script` and `DriverManager`: parsing
//! instructions, stepping through them, substitutions and handler calls.
//!
//! Stepping follows Click's model. The script counts *steps*: a `pause`
//! (or `wait_step`, `wait_stop`) waits for one step, a `wait TIME` for its
//! timer or a step, whichever comes first. Steps come from the `step`
//! handler, from timers, and, for a driver script, from driver stop events
//! (`FromDump(..., STOP true)`), which Click calls "router" steps. A driver
//! script that stops blocking during a router step (it reached `stop`,
//! `end` or its last instruction) stops the driver.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::arith;
use super::expand::{expand, VarKind, MAX_STRING};
use super::text::{shift_word, unquote};
use crate::confparse::values::parse_i64;
use crate::confparse::{Duration, FromArg};
use crate::router::Ctx;

/// Which kind of script (Click's `TYPE` keyword).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScriptType {
    /// Runs as soon as the router starts.
    Active,
    /// Runs only when its `run` handler is called.
    Passive,
    /// An active script that also receives driver stop events.
    Driver,
}

/// Where a `goto` leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    At(usize),
    End,
    Exit,
    Stop,
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// Stands before a first instruction that does not wait; `armed` means
    /// it still owes the step that starts the script.
    Initial {
        armed: bool,
    },
    WaitStep {
        count: u32,
        seen: u32,
    },
    WaitTime,
    Print {
        newline: bool,
        unquote_call: bool,
    },
    Read {
        unquote_call: bool,
    },
    Write {
        unquote_call: bool,
    },
    Set {
        var: usize,
        unquote: bool,
        init: bool,
    },
    Return {
        unquote: bool,
    },
    Label,
    Goto(Target),
    Stop,
    End,
    Exit,
    Error {
        unquote: bool,
    },
}

#[derive(Clone, Debug)]
struct Insn {
    op: Op,
    text: String,
}

/// How a step was triggered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// The `step` handler.
    Normal,
    /// A driver stop event (driver scripts only).
    Router,
    /// The `wait` timer expired.
    Timer,
    /// `run` or `goto`: execute from the current position without
    /// consuming a step.
    Jump,
}

/// How a stepping run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Waiting at a `pause` or `wait`, or parked at a `return`.
    Blocked,
    /// Reached `stop`, `end`, `exit`, `error` or the end.
    Finished,
}

/// Loop protection: this many jumps without blocking disables the script.
const MAX_JUMPS: u32 = 1000;
/// Timer id of `wait TIME`.
pub const WAIT_TIMER: u32 = 0;

/// A parsed script and its execution state.
#[derive(Debug)]
pub struct Interp {
    /// The script type.
    pub kind: ScriptType,
    insns: Vec<Insn>,
    vars: Vec<(String, String)>,
    pos: usize,
    step_count: i64,
    write_status: i32,
    run_args: String,
    /// Steps requested from inside a run (a script writing its own `step`).
    pending_steps: Option<i64>,
    /// Set when an expansion would pass [`MAX_STRING`]: the script stops.
    too_long: core::cell::Cell<bool>,
}

fn too_long_message() -> String {
    format!("a string grew past {MAX_STRING} bytes; the script stops")
}

fn find_or_add(vars: &mut Vec<(String, String)>, name: &str) -> usize {
    match vars.iter().position(|(n, _)| n == name) {
        Some(i) => i,
        None => {
            vars.push((name.into(), String::new()));
            vars.len() - 1
        }
    }
}

impl Interp {
    /// Parses instructions (one per configuration argument).
    pub fn parse(kind: ScriptType, args: &[String]) -> Result<Interp, String> {
        let mut s = Interp {
            kind,
            insns: Vec::new(),
            vars: Vec::new(),
            pos: 0,
            step_count: 0,
            write_status: 0,
            run_args: String::new(),
            pending_steps: None,
            too_long: core::cell::Cell::new(false),
        };
        let mut errors: Vec<String> = Vec::new();
        for a in args {
            let (name, rest) = shift_word(a);
            if name.is_empty() {
                continue;
            }
            if let Err(e) = s.parse_one(&name, rest) {
                errors.push(e);
            }
        }
        // Resolve labels once every label is known.
        for i in 0..s.insns.len() {
            if s.insns[i].op == Op::Goto(Target::At(0)) && !s.insns[i].text.is_empty() {
                let (label, cond) = shift_word(&s.insns[i].text);
                match s.find_label(&label) {
                    Some(t) => {
                        s.insns[i].op = Op::Goto(t);
                        s.insns[i].text = cond;
                    }
                    None => errors.push(format!("no such label '{label}'")),
                }
            }
        }
        if s.insns.is_empty() && kind == ScriptType::Driver {
            s.add(Op::WaitStep { count: 1, seen: 0 }, String::new());
        }
        let last = if kind == ScriptType::Driver {
            Op::Stop
        } else {
            Op::End
        };
        s.add(last, String::new());
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors.join("; "))
        }
    }

    fn add(&mut self, op: Op, text: String) {
        if self.insns.is_empty()
            && !matches!(op, Op::Initial { .. } | Op::WaitStep { .. } | Op::WaitTime)
        {
            self.insns.push(Insn {
                op: Op::Initial { armed: false },
                text: String::new(),
            });
        }
        self.insns.push(Insn { op, text });
    }

    fn parse_one(&mut self, name: &str, rest: String) -> Result<(), String> {
        let syntax = || format!("syntax error at '{name}'");
        let no_arg = |op: Op, me: &mut Self| {
            if rest.is_empty() {
                me.add(op, String::new());
                Ok(())
            } else {
                Err(syntax())
            }
        };
        match name {
            "pause" | "wait_step" | "wait_stop" => self.wait_step(&rest).ok_or_else(syntax),
            "wait" if rest.is_empty() => self.wait_step(&rest).ok_or_else(syntax),
            "wait" | "wait_for" | "wait_time" => {
                if !rest.contains('$') && Duration::from_arg(&rest).is_none() {
                    return Err(syntax());
                }
                self.add(Op::WaitTime, rest);
                Ok(())
            }
            "print" | "printn" | "printq" | "printnq" => {
                let op = Op::Print {
                    newline: !name.starts_with("printn"),
                    unquote_call: name.ends_with('q'),
                };
                self.add(op, rest);
                Ok(())
            }
            "save" | "append" => {
                // `save WHAT [FILE]` is `print >FILE WHAT`; no file means
                // standard output.
                let (what, file) = shift_word(&rest);
                let file = if file.is_empty() { "-".into() } else { file };
                let redirect = if name == "save" { ">" } else { ">>" };
                let op = Op::Print {
                    newline: true,
                    unquote_call: false,
                };
                self.add(op, format!("{redirect}{file} {what}"));
                Ok(())
            }
            "read" | "readq" => {
                self.add(
                    Op::Read {
                        unquote_call: name == "readq",
                    },
                    rest,
                );
                Ok(())
            }
            "write" | "writeq" => {
                self.add(
                    Op::Write {
                        unquote_call: name == "writeq",
                    },
                    rest,
                );
                Ok(())
            }
            "set" | "setq" | "init" | "initq" | "export" | "exportq" => {
                let (var, value) = shift_word(&rest);
                if var.is_empty() || (name.starts_with("set") && value.is_empty()) {
                    return Err(syntax());
                }
                let var = find_or_add(&mut self.vars, &var);
                let op = Op::Set {
                    var,
                    unquote: name.ends_with('q'),
                    init: !name.starts_with("set"),
                };
                self.add(op, value);
                Ok(())
            }
            "return" | "returnq" => {
                find_or_add(&mut self.vars, "_");
                self.add(
                    Op::Return {
                        unquote: name == "returnq",
                    },
                    rest,
                );
                Ok(())
            }
            "label" => {
                let (label, more) = shift_word(&rest);
                if label.is_empty() || !more.is_empty() {
                    return Err(syntax());
                }
                self.add(Op::Label, label);
                Ok(())
            }
            // Labels are resolved after parsing; `At(0)` marks "unresolved"
            // when text is present, and is `begin` when it is not.
            "goto" => {
                self.add(Op::Goto(Target::At(0)), rest);
                Ok(())
            }
            "loop" => no_arg(Op::Goto(Target::At(0)), self),
            "stop" => no_arg(Op::Stop, self),
            "end" => no_arg(Op::End, self),
            "exit" => no_arg(Op::Exit, self),
            "error" | "errorq" => {
                self.add(
                    Op::Error {
                        unquote: name == "errorq",
                    },
                    rest,
                );
                Ok(())
            }
            _ => Err(syntax()),
        }
    }

    fn wait_step(&mut self, rest: &str) -> Option<()> {
        let count = if rest.is_empty() {
            1
        } else {
            u32::from_arg(rest)?
        };
        self.add(Op::WaitStep { count, seen: 0 }, String::new());
        Some(())
    }

    fn find_label(&self, label: &str) -> Option<Target> {
        if let Some(i) = self
            .insns
            .iter()
            .position(|x| x.op == Op::Label && x.text == label)
        {
            return Some(Target::At(i));
        }
        match label {
            "begin" | "loop" => Some(Target::At(0)),
            "end" => Some(Target::End),
            "exit" => Some(Target::Exit),
            "stop" => Some(Target::Stop),
            "error" => Some(Target::Error),
            _ => None,
        }
    }

    /// The handlers the instructions name as written (`elem.handler`), in
    /// order, once each: those `read`, `write` and `print` call and those
    /// `$(elem.handler ...)` expands, leaving out names built from
    /// variables: what a configuration check can verify before the script
    /// runs.
    pub fn handler_calls(&self) -> Vec<String> {
        let mut calls = Vec::new();
        for x in &self.insns {
            match x.op {
                Op::Read { .. } | Op::Write { .. } => calls.push(shift_word(&x.text).0),
                Op::Print { .. } if x.text.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                    calls.push(shift_word(&x.text).0)
                }
                _ => {}
            }
            // A label's text is never expanded.
            if x.op != Op::Label {
                let mut record = |name: &str, kind: VarKind| {
                    if kind == VarKind::Handler {
                        calls.push(shift_word(name).0);
                    }
                    None
                };
                expand(&x.text, &mut record, false);
            }
        }
        let mut seen = Vec::new();
        calls.retain(|name| {
            let keep = name.contains('.') && !name.contains('$') && !seen.contains(name);
            if keep {
                seen.push(name.clone());
            }
            keep
        });
        calls
    }

    /// True if `h` is a handler of the script element itself.
    pub fn is_own_handler(h: &str) -> bool {
        OWN.contains(&h)
    }

    /// Call at router initialization: evaluates `init` instructions and
    /// starts an active script (a driver script asks for its first router
    /// step through the return value).
    pub fn initialize(&mut self, cx: &Ctx) -> Result<bool, String> {
        self.pos = 0;
        self.step_count = 0;
        for i in 0..self.insns.len() {
            if let Op::Set {
                var,
                unquote: q,
                init: true,
            } = self.insns[i].op
            {
                let v = self.expand(cx, &self.insns[i].text.clone(), false);
                self.vars[var].1 = if q { unquote(&v) } else { v };
                if self.too_long.take() {
                    return Err(too_long_message());
                }
            }
        }
        if self.kind == ScriptType::Passive {
            return Ok(false);
        }
        match self.insns[0].op {
            Op::WaitTime => {
                let d = self.wait_duration(cx, 0)?;
                cx.set_timer(WAIT_TIMER, cx.now() + d);
                Ok(false)
            }
            Op::Initial { .. } => {
                self.insns[0].op = Op::Initial { armed: true };
                if self.kind == ScriptType::Driver {
                    Ok(true)
                } else {
                    cx.set_timer(WAIT_TIMER, cx.now());
                    Ok(false)
                }
            }
            _ => Ok(false),
        }
    }

    fn wait_duration(&self, cx: &Ctx, i: usize) -> Result<crate::time::Timestamp, String> {
        let t = self.expand(cx, &self.insns[i].text, false);
        Duration::from_arg(&t)
            .map(|d| d.0)
            .ok_or_else(|| "syntax error at 'wait'".to_string())
    }

    /// Runs a step of kind `kind` (`nsteps` steps; 0 for jumps), plus any
    /// steps the script requested of itself meanwhile.
    pub fn step(&mut self, cx: &Ctx, nsteps: i64, kind: StepKind) -> Outcome {
        self.pending_steps = Some(0);
        let (mut outcome, mut jumps) = self.step_once(cx, nsteps, kind, 0);
        while let Some(n) = self.pending_steps.filter(|&n| n > 0) {
            self.pending_steps = Some(0);
            (outcome, jumps) = self.step_once(cx, n, StepKind::Normal, jumps);
        }
        self.pending_steps = None;
        outcome
    }

    fn step_once(
        &mut self,
        cx: &Ctx,
        nsteps: i64,
        kind: StepKind,
        mut jumps: u32,
    ) -> (Outcome, u32) {
        let target = self.step_count + nsteps;
        while target >= self.step_count && self.pos < self.insns.len() && jumps < MAX_JUMPS {
            let ipos = self.pos;
            self.pos += 1;
            let op = self.insns[ipos].op;
            match op {
                Op::Stop => {
                    self.step_count += 1;
                    self.pos = ipos;
                    if kind != StepKind::Router {
                        cx.request_stop();
                    }
                    return (Outcome::Finished, jumps + 1);
                }
                Op::WaitStep { count, mut seen } => {
                    while self.step_count < target && seen < count {
                        seen += 1;
                        self.step_count += 1;
                    }
                    self.insns[ipos].op = Op::WaitStep { count, seen };
                    if self.step_count == target && seen < count {
                        self.pos = ipos;
                        return self.blocked(cx, kind, jumps);
                    }
                }
                Op::WaitTime => {
                    if self.step_count == target {
                        match self.wait_duration(cx, ipos) {
                            Ok(d) => {
                                cx.set_timer(WAIT_TIMER, cx.now() + d);
                                self.pos = ipos;
                            }
                            Err(e) => cx.log(&e),
                        }
                        return self.blocked(cx, kind, jumps);
                    }
                    self.step_count += 1;
                    cx.cancel_timer(WAIT_TIMER);
                }
                Op::Initial { armed } => {
                    if armed {
                        self.step_count += 1;
                        self.insns[ipos].op = Op::Initial { armed: false };
                    }
                }
                Op::Print {
                    newline,
                    unquote_call,
                } => self.print(cx, ipos, newline, unquote_call),
                Op::Read { unquote_call } => {
                    let spec = self.expand(cx, &self.insns[ipos].text, false);
                    if !self.too_long.get() {
                        match self.call_read(cx, &spec, unquote_call) {
                            Ok((name, v)) => cx.host().log(&format!("{name}:\n{v}\n")),
                            Err(e) => cx.log(&e),
                        }
                    }
                }
                Op::Write { unquote_call } => {
                    let spec = self.expand(cx, &self.insns[ipos].text, false);
                    if !self.too_long.get() {
                        self.write_status = match self.call_write(cx, &spec, unquote_call) {
                            Ok(()) => 0,
                            Err(e) => {
                                cx.log(&e);
                                -22
                            }
                        };
                    }
                }
                Op::Set {
                    var,
                    unquote: q,
                    init: false,
                } => {
                    let v = self.expand(cx, &self.insns[ipos].text, false);
                    self.vars[var].1 = if q { unquote(&v) } else { v };
                }
                Op::Set { init: true, .. } | Op::Label => {}
                Op::Return { unquote: q } => {
                    let v = self.expand(cx, &self.insns[ipos].text, false);
                    let var = find_or_add(&mut self.vars, "_");
                    self.vars[var].1 = if q { unquote(&v) } else { v };
                    if self.pos == ipos + 1 {
                        self.pos = ipos;
                        return self.blocked(cx, kind, jumps);
                    }
                }
                Op::Goto(t) => {
                    let cond = self.expand(cx, &self.insns[ipos].text, false);
                    let go = if cond.trim().is_empty() {
                        true
                    } else {
                        match bool::from_arg(&cond) {
                            Some(b) => b,
                            None => {
                                cx.log(&format!("bad condition '{}'", cond.trim()));
                                false
                            }
                        }
                    };
                    if go {
                        match t {
                            Target::At(to) => {
                                for x in &mut self.insns[to..ipos] {
                                    if let Op::WaitStep { count, .. } = x.op {
                                        x.op = Op::WaitStep { count, seen: 0 };
                                    }
                                }
                                self.pos = to;
                            }
                            _ => {
                                self.pos = ipos;
                                if t == Target::Stop && kind != StepKind::Router {
                                    cx.request_stop();
                                }
                                return (Outcome::Finished, jumps + 1);
                            }
                        }
                    }
                }
                Op::Error { unquote: q } => {
                    let m = self.expand(cx, &self.insns[ipos].text, false);
                    let m = if q { unquote(&m) } else { m };
                    if !m.trim().is_empty() {
                        cx.log(m.trim());
                    }
                    self.pos = ipos;
                    return (Outcome::Finished, jumps + 1);
                }
                Op::End | Op::Exit => {
                    self.pos = ipos;
                    return (Outcome::Finished, jumps + 1);
                }
            }
            if self.too_long.take() {
                cx.log(&too_long_message());
                self.pos = self.insns.len();
                cx.cancel_timer(WAIT_TIMER);
                return (Outcome::Finished, jumps + 1);
            }
            if self.pos != ipos + 1 {
                jumps += 1;
            }
        }
        self.blocked(cx, kind, jumps)
    }

    fn blocked(&mut self, cx: &Ctx, _kind: StepKind, jumps: u32) -> (Outcome, u32) {
        if jumps >= MAX_JUMPS {
            cx.log("too many jumps, giving up");
            self.pos = self.insns.len();
            cx.cancel_timer(WAIT_TIMER);
        }
        (Outcome::Blocked, jumps + 1)
    }

    /// The value a `run` call returns: the `return` value, if the script
    /// stopped at a `return`.
    pub fn return_value(&self) -> String {
        match self.insns.get(self.pos).map(|i| i.op) {
            Some(Op::Return { .. }) => self
                .vars
                .iter()
                .find(|(n, _)| n == "_")
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            _ => String::new(),
        }
    }

    /// True if the script stopped at an `error`.
    pub fn failed(&self) -> bool {
        matches!(
            self.insns.get(self.pos).map(|i| i.op),
            Some(Op::Error { .. } | Op::Goto(Target::Error))
        )
    }

    /// The `run` handler: execute from the top with `args`.
    pub fn run(&mut self, cx: &Ctx, args: &str) -> Result<String, String> {
        if self.pending_steps.is_some() {
            return Err("script is already running".into());
        }
        self.pos = 0;
        self.run_args = args.trim().into();
        self.step(cx, 0, StepKind::Jump);
        self.run_args.clear();
        if self.failed() {
            Err("script error".into())
        } else {
            Ok(self.return_value())
        }
    }

    /// The `step` handler: "" (one step), a count, or "router".
    pub fn step_handler(&mut self, cx: &Ctx, arg: &str) -> Result<Outcome, String> {
        let arg = arg.trim();
        let (n, kind) = match arg {
            "" => (1, StepKind::Normal),
            "router" => (1, StepKind::Router),
            _ => (
                parse_i64(arg).ok_or_else(|| "syntax error".to_string())?,
                StepKind::Normal,
            ),
        };
        if let Some(p) = self.pending_steps.as_mut() {
            *p += n;
            return Ok(Outcome::Blocked);
        }
        Ok(self.step(cx, n, kind))
    }

    /// The `goto` handler: continue at a label.
    pub fn goto_handler(&mut self, cx: &Ctx, label: &str) -> Result<(), String> {
        let Some(Target::At(to)) = self.find_label(label.trim()) else {
            return Err("jump to nonexistent label".into());
        };
        for x in &mut self.insns[to..] {
            if let Op::WaitStep { count, .. } = x.op {
                x.op = Op::WaitStep { count, seen: 0 };
            }
        }
        self.pos = to;
        if self.pending_steps.is_none() {
            self.step(cx, 0, StepKind::Jump);
        }
        Ok(())
    }

    fn print(&mut self, cx: &Ctx, ipos: usize, newline: bool, unquote_call: bool) {
        let mut text = self.insns[ipos].text.clone();
        let mut file: Option<String> = None;
        let mut append = false;
        if let Some(r) = text.strip_prefix('>') {
            append = r.starts_with('>');
            let r = if append { &r[1..] } else { r };
            let (f, rest) = shift_word(r);
            if !f.is_empty() && f != "-" {
                file = Some(f);
            }
            text = rest;
        }
        let text = text.as_str();
        let first = text.bytes().next();
        let result = if first.is_some_and(|b| b.is_ascii_alphabetic() || b == b'@' || b == b'_') {
            let spec = self.expand(cx, text, false);
            self.call_read(cx, &spec, unquote_call).map(|(_, v)| v)
        } else {
            Ok(unquote(&self.expand(cx, text, true)))
        };
        if self.too_long.get() {
            return;
        }
        let out = match result {
            Ok(mut v) => {
                if newline && !v.ends_with('\n') {
                    v.push('\n');
                }
                v
            }
            Err(e) => {
                cx.log(&e);
                String::new()
            }
        };
        if let Err(e) = cx.host().output(file.as_deref(), append, &out) {
            cx.log(&e);
        }
    }

    /// Substitutes variables and handler values in `text`.
    fn expand(&self, cx: &Ctx, text: &str, quote_bare: bool) -> String {
        let mut lookup = |name: &str, kind: VarKind| -> Option<String> {
            if kind == VarKind::Handler {
                return match self.call_read(cx, name, false) {
                    Ok((_, v)) => Some(v),
                    Err(e) => {
                        cx.log(&e);
                        None
                    }
                };
            }
            if let Some((_, v)) = self.vars.iter().find(|(n, _)| n == name) {
                return Some(v.clone());
            }
            match name {
                "?" => Some(self.write_status.to_string()),
                "args" => Some(self.run_args.clone()),
                "#" => Some(count_words(&self.run_args).to_string()),
                _ => {
                    let n = name.parse::<usize>().ok().filter(|&n| n > 0)?;
                    let mut rest = self.run_args.clone();
                    let mut word = String::new();
                    for _ in 0..n {
                        (word, rest) = shift_word(&rest);
                    }
                    Some(word)
                }
            }
        };
        expand(text, &mut lookup, quote_bare).unwrap_or_else(|| {
            self.too_long.set(true);
            String::new()
        })
    }

    /// Reads `spec` (`elem.handler [ARGS]` or a handler of this script),
    /// returning the handler's full name and value.
    fn call_read(
        &self,
        cx: &Ctx,
        spec: &str,
        unquote_call: bool,
    ) -> Result<(String, String), String> {
        let (name, args) = shift_word(spec);
        let args = if unquote_call { unquote(&args) } else { args };
        match resolve(cx, &name)? {
            Resolved::Own(h) => {
                let v = match h.as_str() {
                    "now" => Ok(cx.now().to_string()),
                    _ => arith::call(&h, &args)
                        .unwrap_or_else(|| Err(format!("no handler '{name}'"))),
                };
                v.map(|v| (format!("{}.{h}", cx.name()), v))
                    .map_err(|e| format!("{name}: {e}"))
            }
            Resolved::Other(full) => {
                let v = cx.router().read(&full).map_err(|e| e.to_string())?;
                Ok((full, v))
            }
        }
    }

    fn call_write(&mut self, cx: &Ctx, spec: &str, unquote_call: bool) -> Result<(), String> {
        let (name, value) = shift_word(spec);
        let value = if unquote_call { unquote(&value) } else { value };
        match resolve(cx, &name)? {
            Resolved::Own(h) => match h.as_str() {
                "step" => self.step_handler(cx, &value).map(|_| ()),
                "goto" => self.goto_handler(cx, &value),
                "run" => self.run(cx, &value).map(|_| ()),
                _ => Err(format!("no write handler '{name}'")),
            },
            Resolved::Other(full) => cx.router().write(&full, &value).map_err(|e| e.to_string()),
        }
    }
}

fn count_words(s: &str) -> usize {
    let mut rest = String::from(s);
    let mut n = 0;
    loop {
        let (w, r) = shift_word(&rest);
        if w.is_empty() {
            return n;
        }
        n += 1;
        rest = r;
    }
}

/// Handlers of the script element itself.
const OWN: &[&str] = &[
    "step", "goto", "run", "now", "add", "sub", "mul", "div", "idiv", "mod", "rem", "neg", "abs",
    "min", "max", "eq", "ne", "lt", "gt", "le", "ge", "not", "and", "or", "nand", "nor", "if",
    "in", "first", "length", "unquote", "sprintf",
];

enum Resolved {
    /// A handler of this script.
    Own(String),
    /// Another element's (or the router's) handler, full name.
    Other(String),
}

/// Resolves a handler name as Click's `HandlerCall` does from inside an
/// element: `h` is this element's handler if it has one, else a router
/// handler; `e.h` looks `e` up relative to this element's compound first.
fn resolve(cx: &Ctx, name: &str) -> Result<Resolved, String> {
    let Some((elem, h)) = name.rsplit_once('.') else {
        if OWN.contains(&name) {
            return Ok(Resolved::Own(name.into()));
        }
        return Ok(Resolved::Other(name.into()));
    };
    let router = cx.router();
    let me = cx.name();
    let mut prefix = me;
    let mut found = None;
    while let Some(slash) = prefix.rfind('/') {
        prefix = &prefix[..slash];
        let full = format!("{prefix}/{elem}");
        if let Some(i) = router.find(&full) {
            found = Some(i);
            break;
        }
    }
    let eid = found
        .or_else(|| router.find(elem))
        .ok_or_else(|| format!("no element named '{elem}'"))?;
    if eid == cx.eid() && OWN.contains(&h) {
        return Ok(Resolved::Own(h.into()));
    }
    Ok(Resolved::Other(format!("{}.{h}", router.info(eid).name)))
}
