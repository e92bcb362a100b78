//! The driver loop of `mbctl run`: steps the router, and when nothing is
//! runnable, jumps simulated time to the next timer, or sleeps in poll(2)
//! on the device sockets until the next timer, a frame or a signal.

use std::sync::atomic::{AtomicBool, Ordering};

use click::router::Step;
use click::time::Timestamp;
use click::Router;

use crate::elements;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Stopped by the configuration (a stop event or `stop`).
    Stopped,
    /// Nothing left to do: no task ran, no timer and no device.
    Quiescent,
    /// SIGINT or SIGTERM.
    Interrupted,
}

/// Task rounds per step: Click's driver likewise runs many tasks between
/// looks at its timers, file descriptors and signals.
const TASK_ROUNDS: u32 = 32;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM end the run cleanly (files flushed, `-h`
/// handlers printed), as Click's driver does.
pub fn catch_signals() {
    INTERRUPTED.store(false, Ordering::SeqCst);
    let handler = on_signal as extern "C" fn(libc::c_int);
    // SAFETY: the handler only stores to an atomic, which is
    // async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
    }
}

/// True once SIGINT or SIGTERM arrived after [`catch_signals`]; other
/// loops (`mbctl capture`) end on it too.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Runs `router` until it stops, quiesces or is interrupted.
pub fn run(router: &Router) -> Ended {
    let devices: Vec<usize> = (0..router.len())
        .filter(|&i| elements::is_device_class(router.info(i).class.name))
        .collect();
    loop {
        if interrupted() {
            router.stop();
            return Ended::Interrupted;
        }
        match router.step_rounds(TASK_ROUNDS) {
            Step::Stopped => return Ended::Stopped,
            Step::Worked => {}
            Step::Idle(next) => {
                if router.clock().is_simulated() {
                    if let Some(t) = next {
                        router.clock().advance_to(t);
                        continue;
                    }
                }
                if devices.is_empty() && next.is_none() {
                    return Ended::Quiescent;
                }
                wait(router, &devices, next);
            }
        }
    }
}

/// Sleeps until `until` (or forever), or until a device is ready; wakes
/// the ready devices' tasks.
fn wait(router: &Router, devices: &[usize], until: Option<Timestamp>) {
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(devices.len());
    let mut owners: Vec<usize> = Vec::with_capacity(devices.len());
    for &eid in devices {
        if let Some(Some((fd, events))) =
            router.with_element(eid, |e, _| elements::poll_interest(e))
        {
            fds.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
            owners.push(eid);
        }
    }
    let timeout = until.map(|t| {
        let d = (t - router.now()).nanos().max(0);
        libc::timespec {
            tv_sec: (d / 1_000_000_000) as libc::time_t,
            tv_nsec: (d % 1_000_000_000) as libc::c_long,
        }
    });
    let tp = timeout
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: fds is a live array of fds.len() pollfds; tp is null or
    // points to a live timespec.
    let n = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            tp,
            std::ptr::null(),
        )
    };
    if n > 0 {
        for (pfd, &eid) in fds.iter().zip(&owners) {
            if pfd.revents != 0 {
                router.with_element(eid, |_, cx| cx.schedule());
            }
        }
    }
}
