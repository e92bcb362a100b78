//! Waiting for SIGTERM/SIGINT/SIGHUP in the foreground agent.
//!
//! The signals are blocked before any thread starts (threads inherit the
//! mask), then the main thread takes them synchronously with `sigwait`, so
//! shutdown runs as ordinary code rather than in a signal handler.

use std::io;

/// Termination signals, blocked for this thread and the threads it starts.
pub struct Termination {
    set: libc::sigset_t,
}

impl Termination {
    /// Blocks SIGTERM, SIGINT and SIGHUP. Call before starting threads.
    pub fn block() -> io::Result<Termination> {
        // SAFETY: sigset_t is plain data initialised by sigemptyset.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                libc::sigaddset(&mut set, s);
            }
            let r = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if r != 0 {
                return Err(io::Error::from_raw_os_error(r));
            }
            Ok(Termination { set })
        }
    }

    /// Waits for one of the signals; returns its number.
    pub fn wait(&self) -> io::Result<i32> {
        let mut sig = 0;
        // SAFETY: `set` was initialised in `block`.
        let r = unsafe { libc::sigwait(&self.set, &mut sig) };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        Ok(sig)
    }
}
