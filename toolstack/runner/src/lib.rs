//! The host runner behind `mbctl run`: runs a Click configuration
//! in-process, like Click's user-level `click` driver, on pcap files
//! ([`elements::fromdump`], [`elements::todump`]) and Linux interfaces
//! ([`elements::fromdevice`], [`elements::todevice`]), on the wall clock or
//! on simulated time.
//!
//! * [`build`]: parse a configuration and build its router;
//! * [`driver::run`]: the loop that steps it, sleeping in poll(2) when idle;
//! * [`run`]: all of `mbctl run`: build, run, print `-h` handlers.
#![warn(missing_docs)]

pub mod clock;
pub mod device;
pub mod docs;
pub mod driver;
pub mod elements;
pub mod handlers;
pub mod host;
pub mod netdevs;
pub mod pcap;
#[cfg(test)]
mod testutil;
pub mod tun;

use click::router::Env;
use click::time::SimClock;
use click::{Errors, Registry, Router};

pub use driver::Ended;

/// The engine's library plus the host elements.
pub fn registry() -> Registry {
    let mut r = Registry::standard();
    r.add_all(elements::CLASSES);
    r
}

/// [`registry`] with the host's network devices as address names, as
/// configurations run here see them ([`netdevs`]).
pub fn host_registry() -> Registry {
    let mut r = registry();
    netdevs::declare_host_devices(r.devices_mut());
    r
}

/// Parses `source` (named `file` in errors) with command-line `NAME=VALUE`
/// overrides and builds its router on simulated or wall-clock time, with
/// standard output, files and standard error as its host.
pub fn build(
    source: &str,
    file: &str,
    overrides: &[(String, String)],
    simtime: bool,
) -> Result<Router, Errors> {
    let env = Env {
        clock: if simtime {
            Box::new(SimClock::new())
        } else {
            Box::new(clock::WallClock)
        },
        host: Box::new(host::StdHost),
    };
    build_in(source, file, overrides, env)
}

/// Like [`build`], with a given clock and host.
pub fn build_in(
    source: &str,
    file: &str,
    overrides: &[(String, String)],
    env: Env,
) -> Result<Router, Errors> {
    Router::from_source(source, file, overrides, &host_registry(), env)
}

/// Checks `source` as [`build`] would, without initializing anything:
/// returns its element and connection counts, or every error found, in
/// file order, with suggestions (see [`Router::check_source`]).
pub fn check(
    source: &str,
    file: &str,
    overrides: &[(String, String)],
) -> Result<(usize, usize), Errors> {
    Router::check_source(source, file, overrides, &host_registry())
}

/// [`check`] for a guest, which cannot look up the host's devices: their
/// names are not addresses there.
pub fn check_for_guest(
    source: &str,
    file: &str,
    overrides: &[(String, String)],
) -> Result<(usize, usize), Errors> {
    Router::check_source(source, file, overrides, &registry())
}

/// What `mbctl run` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Configuration text.
    pub source: String,
    /// Its name in error messages (`-` reads as `<stdin>`).
    pub file: String,
    /// `NAME=VALUE` overrides of top-level `define`s.
    pub overrides: Vec<(String, String)>,
    /// Simulated time.
    pub simtime: bool,
    /// Read handlers to print after the run (`-h`).
    pub handlers: Vec<String>,
    /// Handler whose value is the exit status (`-x`).
    pub exit_handler: Option<String>,
    /// Build and initialize only (`-q`).
    pub quit: bool,
}

/// Runs a configuration as Click's driver does: errors to standard error
/// (exit 1), then the run, then the `-h` handlers on standard output.
/// Returns the exit status.
pub fn run(opts: &RunOptions) -> i32 {
    let router = match build(&opts.source, &opts.file, &opts.overrides, opts.simtime) {
        Ok(r) => r,
        Err(errs) => {
            for e in &errs.0 {
                eprintln!("{e}");
            }
            return 1;
        }
    };
    if !opts.quit && !router.is_empty() {
        driver::catch_signals();
        if driver::run(&router) == Ended::Quiescent {
            eprintln!(
                "{}: router is idle (no tasks, timers or devices); exiting",
                opts.file
            );
        }
    }
    let mut status = 0;
    let mut out = std::io::stdout().lock();
    if let Err(errs) = handlers::print(&router, &opts.handlers, &mut out) {
        for e in errs {
            eprintln!("{e}");
        }
        status = 1;
    }
    if let Some(h) = &opts.exit_handler {
        status = match handlers::exit_status(&router, h) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{e}");
                255
            }
        };
    }
    status
}
