//! `mbctl console`: attach to a middlebox's serial line, as `xl console`
//! and `virsh console` do: the guest's output live, standard input to the
//! guest, Ctrl-] to detach.

use anyhow::{bail, Context, Result};
use mb_agent::client;
use mb_vm::record::Record;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

use super::logs::{self, LogsArgs};

use mb_agent::vms;
use mb_vm::files::VmFiles;
use mb_vm::rundir::RunDir;

/// Ctrl-]: detaches, as in telnet, `xl console` and `virsh console`.
pub const ESCAPE: u8 = 0x1d;

/// Attach to a middlebox's serial console.
///
/// Prints the last lines the guest wrote, then its output as it comes;
/// what you type goes to the guest's serial line (the guest has no shell
/// and ignores it). Ctrl-] or the end of standard input detaches; the
/// middlebox keeps running. One console at a time per middlebox.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  mbctl console fw          # Ctrl-] to detach\n  mbctl console fw -n 0     # no earlier output\n  mbctl console fw </dev/null   # print the last lines and detach"
)]
pub struct ConsoleArgs {
    /// The middlebox.
    name: String,
    /// Lines of earlier output to print first.
    #[arg(short = 'n', long, default_value_t = 10)]
    lines: usize,
}

/// Why a console session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The user typed Ctrl-].
    Escape,
    /// Standard input ended.
    InputClosed,
    /// The guest's side closed (the VM stopped).
    GuestGone,
}

/// The terminal in raw mode (keys go to the guest as typed, Ctrl-C
/// included) until dropped; output keeps its newline translation.
struct RawTerminal {
    fd: RawFd,
    saved: libc::termios,
}

impl RawTerminal {
    /// Raw mode on `fd` if it is a terminal; `None` otherwise.
    fn enter(fd: RawFd) -> Option<RawTerminal> {
        // SAFETY: isatty/tcgetattr/tcsetattr only read and write the
        // termios structure we own; a failure leaves the terminal as is.
        unsafe {
            if libc::isatty(fd) != 1 {
                return None;
            }
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            raw.c_oflag |= libc::OPOST | libc::ONLCR;
            if libc::tcsetattr(fd, libc::TCSAFLUSH, &raw) != 0 {
                return None;
            }
            Some(RawTerminal { fd, saved })
        }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `enter`.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSAFLUSH, &self.saved);
        }
    }
}

/// Copies the guest's output from `serial` to `out` and `input` to the
/// guest until Ctrl-], the end of `input`, or the guest's side closes.
/// Input the guest does not take (it does not read its serial line, so
/// QEMU stops reading once the UART's buffer is full) is dropped rather
/// than blocking the output.
pub fn pump(input: RawFd, serial: &mut UnixStream, out: &mut dyn Write) -> Result<End> {
    serial.set_nonblocking(true)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let mut fds = [
            libc::pollfd {
                fd: input,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: serial.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfd entries, as counted.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e).context("waiting for the console");
        }
        let ready = libc::POLLIN | libc::POLLHUP | libc::POLLERR;
        if fds[1].revents & ready != 0 {
            match serial.read(&mut buf) {
                Ok(0) => return Ok(End::GuestGone),
                Ok(n) => {
                    out.write_all(&buf[..n])?;
                    out.flush()?;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(End::GuestGone),
                Err(e) => return Err(e).context("reading the console"),
            }
        }
        if fds[0].revents & ready != 0 {
            // SAFETY: reads into our buffer, at most its length.
            let n = unsafe { libc::read(input, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e).context("reading standard input");
            }
            if n == 0 {
                return Ok(End::InputClosed);
            }
            let typed = &buf[..n as usize];
            let (send, end) = match typed.iter().position(|&b| b == ESCAPE) {
                Some(i) => (&typed[..i], true),
                None => (typed, false),
            };
            match serial.write(send) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == ErrorKind::BrokenPipe => return Ok(End::GuestGone),
                Err(e) => return Err(e).context("writing to the console"),
            }
            if end {
                return Ok(End::Escape);
            }
        }
    }
}

/// Takes the console of one middlebox: QEMU serves one client at a time,
/// so a second one would wait, unseen, behind the first.
fn lock(files: &VmFiles, name: &str) -> Result<File> {
    let f = File::create(files.console_lock())
        .with_context(|| format!("creating {}", files.console_lock().display()))?;
    // SAFETY: flock on a file descriptor we own; released when it closes.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        bail!("another `mbctl console {name}` is attached (one at a time)");
    }
    Ok(f)
}

/// Runs `mbctl console`.
pub fn console(run: &RunDir, a: ConsoleArgs) -> Result<()> {
    let mut st = client::store(run)?;
    let rec = Record::load_existing(&mut st, &a.name)?;
    if rec.backend == "xl" {
        bail!(
            "'{}' runs on Xen: its console is `xl console {}`",
            rec.name,
            rec.name
        );
    }
    let files = VmFiles::new(run, &rec.name);
    let sock = files.console_socket();
    if !sock.exists() {
        // A VM started by an mbctl without console sockets.
        eprintln!(
            "mbctl: '{}' has no console socket (started by an older mbctl): following its output, read-only; Ctrl-C to leave",
            rec.name
        );
        return logs::logs(
            run,
            LogsArgs {
                name: a.name,
                lines: Some(a.lines),
                follow: true,
            },
        );
    }
    if !vms::backend_of(run, &rec)?.alive(&rec) {
        bail!("'{}' is not running ({})", rec.name, rec.state.as_str());
    }
    let _held = lock(&files, &rec.name)?;
    let mut serial =
        UnixStream::connect(&sock).with_context(|| format!("attaching to {}", sock.display()))?;
    let mut stdout = std::io::stdout();
    if a.lines > 0 {
        let text = std::fs::read_to_string(files.console_log()).unwrap_or_default();
        stdout.write_all(logs::last_lines(&text, a.lines).as_bytes())?;
        stdout.flush()?;
    }
    eprintln!(
        "Connected to {} (domain {}). Escape character is ^] (Ctrl-]).",
        rec.name, rec.domid
    );
    let stdin = std::io::stdin().as_raw_fd();
    let end = {
        let _raw = RawTerminal::enter(stdin);
        pump(stdin, &mut serial, &mut stdout)?
    };
    match end {
        End::Escape | End::InputClosed => eprintln!("\nDetached from {}.", rec.name),
        End::GuestGone => eprintln!("\n{}: the VM closed its console (stopped?).", rec.name),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// A console session against a socket pair: output flows, input
    /// reaches the other side up to Ctrl-], which ends the session.
    #[test]
    fn pumps_both_ways_and_detaches_on_escape() {
        let (mut ours, mut guest) = UnixStream::pair().unwrap();
        let (input_r, mut input_w) = UnixStream::pair().unwrap();
        guest.write_all(b"mb: ready\n").unwrap();
        input_w.write_all(b"hi\x1dnot sent").unwrap();
        let mut out = Vec::new();
        // Output first or input first, the session ends at the escape.
        let end = pump(input_r.as_raw_fd(), &mut ours, &mut out).unwrap();
        assert_eq!(end, End::Escape);
        let mut got = vec![0u8; 16];
        guest.set_nonblocking(true).unwrap();
        let n = guest.read(&mut got).unwrap();
        assert_eq!(&got[..n], b"hi");
        // The guest's output is copied when it came before the escape,
        // and in any case on the next session.
        let end = {
            drop(input_w);
            pump(input_r.as_raw_fd(), &mut ours, &mut out).unwrap()
        };
        assert!(matches!(end, End::InputClosed), "{end:?}");
        drop(guest);
        let (idle_r, _idle_w) = UnixStream::pair().unwrap();
        let end = pump(idle_r.as_raw_fd(), &mut ours, &mut out).unwrap();
        assert_eq!(end, End::GuestGone);
        assert_eq!(out, b"mb: ready\n");
    }
}
