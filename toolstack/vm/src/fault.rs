//! Fault injection for the crash-consistency tests, inert unless the
//! environment variable `MBCTL_FAULT` is set.
//!
//! `MBCTL_FAULT=OP:N[:fail][,OP:N[:fail]...]`: the process running
//! operation `OP` (see [`begin`]) stops right after its step `N` (counted
//! from 1 by [`step`]): with `abort()` (as a `kill -9` there would), or,
//! with `:fail`, by failing that step with an error. The agent inherits
//! the variable from the command that starts it.
//!
//! | OP | process | steps (each right after the thing is made) |
//! | --- | --- | --- |
//! | `boot` | agent | record written; guest store port and config (QEMU); each host device of each NIC (tap, OVS port, veth); VM started; record completed; state running (a failed boot then counts the cleanup's steps, as below) |
//! | `destroy` | agent | state stopping; then the cleanup's: VM gone; NICs' devices removed; guest port and store nodes removed; files removed; record removed |
//! | `stop`, `recover` | agent | the cleanup's steps, for `mbctl stop` and for what a restarted agent finishes or rolls back |
//! | `chain-up` | `mbctl chain up` | each journal entry, after the thing it records is made |
//! | `chain-undo` | `mbctl chain up`/`down` | each journal entry undone |

use std::sync::{Mutex, OnceLock};

/// One injected fault.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fault {
    op: String,
    step: u32,
    fail: bool,
}

fn parse(spec: &str) -> Vec<Fault> {
    spec.split(',')
        .filter_map(|f| {
            let mut w = f.trim().split(':');
            let op = w.next()?.to_string();
            let step = w.next()?.parse().ok()?;
            let fail = w.next() == Some("fail");
            Some(Fault { op, step, fail })
        })
        .collect()
}

fn faults() -> &'static [Fault] {
    static F: OnceLock<Vec<Fault>> = OnceLock::new();
    F.get_or_init(|| {
        std::env::var("MBCTL_FAULT")
            .map(|s| parse(&s))
            .unwrap_or_default()
    })
}

/// The operation running in this process and its steps so far.
static CURRENT: Mutex<(String, u32)> = Mutex::new((String::new(), 0));

/// Starts counting the steps of operation `op` (the agent runs one
/// operation at a time).
pub fn begin(op: &str) {
    if faults().is_empty() {
        return;
    }
    let mut c = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
    *c = (op.to_string(), 0);
}

/// One step of the current operation is done: aborts the process, or
/// fails, if `MBCTL_FAULT` says so for this step.
pub fn step() -> crate::Result<()> {
    if faults().is_empty() {
        return Ok(());
    }
    let (op, n) = {
        let mut c = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
        c.1 += 1;
        c.clone()
    };
    match faults().iter().find(|f| f.op == op && f.step == n) {
        None => Ok(()),
        Some(f) if f.fail => crate::bail!("injected fault {op}:{n}:fail (MBCTL_FAULT)"),
        Some(_) => {
            eprintln!("mbctl: injected fault {op}:{n} (MBCTL_FAULT): aborting");
            std::process::abort()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(
            parse("boot:3,chain-undo:1:fail, x"),
            [
                Fault {
                    op: "boot".into(),
                    step: 3,
                    fail: false
                },
                Fault {
                    op: "chain-undo".into(),
                    step: 1,
                    fail: true
                }
            ]
        );
        // Unset: every step passes.
        begin("boot");
        for _ in 0..10 {
            step().unwrap();
        }
    }
}
