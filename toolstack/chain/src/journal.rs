//! The record of what a chain made, one line per thing, appended and
//! synced *before* the thing is made: `down`, and the rollback of a failed
//! `up`, remove exactly what exists of it, newest first, even after a crash.

use crate::error::{Context, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// One thing a chain made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Made {
    /// The private Open vSwitch in this directory was used (stopped at
    /// `down` when no tagged bridge is left).
    Ovs(PathBuf),
    /// A network namespace.
    Netns(String),
    /// An Open vSwitch bridge.
    Bridge(String),
    /// A port on a bridge: (bridge, device).
    Port(String, String),
    /// A device in the root namespace (a veth end; its peer goes with it).
    Link(String),
    /// The chain's OpenFlow rules on a bridge.
    Flows(String),
    /// A hop's host-runner process: (pid, start time in clock ticks, hop).
    Proc(i32, u64, String),
    /// A middlebox VM (removed with `mbctl destroy`).
    Vm(String),
    /// Not a thing: hop HOP's face (`in`/`out`) is port DEV on BRIDGE (for `show`).
    Face(String, String, String, String),
}

impl Made {
    /// The line form.
    pub fn encode(&self) -> String {
        match self {
            Made::Ovs(d) => format!("ovs {}", d.display()),
            Made::Netns(n) => format!("netns {n}"),
            Made::Bridge(b) => format!("bridge {b}"),
            Made::Port(b, d) => format!("port {b} {d}"),
            Made::Link(l) => format!("link {l}"),
            Made::Flows(b) => format!("flows {b}"),
            Made::Proc(p, t, h) => format!("proc {p} {t} {h}"),
            Made::Vm(v) => format!("vm {v}"),
            Made::Face(h, s, b, d) => format!("face {h} {s} {b} {d}"),
        }
    }

    /// Parses [`encode`](Self::encode)'s form.
    pub fn decode(line: &str) -> Option<Made> {
        let (k, rest) = line.split_once(' ')?;
        let w: Vec<&str> = rest.split(' ').collect();
        Some(match (k, w.as_slice()) {
            ("ovs", _) => Made::Ovs(PathBuf::from(rest)),
            ("netns", [n]) => Made::Netns(n.to_string()),
            ("bridge", [b]) => Made::Bridge(b.to_string()),
            ("port", [b, d]) => Made::Port(b.to_string(), d.to_string()),
            ("link", [l]) => Made::Link(l.to_string()),
            ("flows", [b]) => Made::Flows(b.to_string()),
            ("proc", [p, t, h]) => Made::Proc(p.parse().ok()?, t.parse().ok()?, h.to_string()),
            ("vm", [v]) => Made::Vm(v.to_string()),
            ("face", [h, s, b, d]) => {
                Made::Face(h.to_string(), s.to_string(), b.to_string(), d.to_string())
            }
            _ => return None,
        })
    }
}

/// An open journal.
pub struct Journal {
    path: PathBuf,
    file: File,
    entries: Vec<Made>,
}

impl Journal {
    /// Creates (or continues) the journal at `path`.
    pub fn open(path: &Path) -> Result<Journal> {
        let entries = read(path)?;
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        // A line cut short by a crash must not glue onto the next one.
        let text = std::fs::read(path).unwrap_or_default();
        if text.last().is_some_and(|&b| b != b'\n') {
            file.write_all(b"\n")?;
        }
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            entries,
        })
    }

    /// Records `m`, durably, before the caller makes it. The entry before
    /// it is made by now: that is a fault-injection step
    /// ([`mb_vm::fault`]).
    pub fn record(&mut self, m: Made) -> Result<()> {
        if !self.entries.is_empty() {
            mb_vm::fault::step()?;
        }
        writeln!(self.file, "{}", m.encode())
            .and_then(|_| self.file.sync_data())
            .with_context(|| format!("writing {}", self.path.display()))?;
        self.entries.push(m);
        Ok(())
    }

    /// What is recorded so far, oldest first.
    pub fn entries(&self) -> &[Made] {
        &self.entries
    }
}

/// Reads a journal; a missing file is empty, unreadable lines are skipped
/// (a crash may cut the last one short).
pub fn read(path: &Path) -> Result<Vec<Made>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s.lines().filter_map(Made::decode).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let all = [
            Made::Ovs("/run/mbctl/ovs".into()),
            Made::Netns("mbc-x".into()),
            Made::Bridge("x-l0".into()),
            Made::Port("x-l0".into(), "x-h0i".into()),
            Made::Link("x-h0i".into()),
            Made::Flows("x-l0".into()),
            Made::Proc(42, 1234, "fw".into()),
            Made::Vm("x-fw".into()),
            Made::Face("fw".into(), "in".into(), "x-l0".into(), "x-h0i".into()),
        ];
        for m in &all {
            assert_eq!(Made::decode(&m.encode()).as_ref(), Some(m));
        }
        assert_eq!(Made::decode("proc x 1 fw"), None);
        assert_eq!(Made::decode("bogus"), None);
    }

    #[test]
    fn recorded_before_and_survives_reopen() {
        let p = std::env::temp_dir().join(format!("mbctl-journal-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        let mut j = Journal::open(&p).unwrap();
        j.record(Made::Bridge("a".into())).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        j.record(Made::Link("b".into())).unwrap();
        // A torn last line is ignored.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"por")
            .unwrap();
        let j2 = Journal::open(&p).unwrap();
        assert_eq!(
            j2.entries(),
            &[Made::Bridge("a".into()), Made::Link("b".into())]
        );
        let mut j2 = j2;
        j2.record(Made::Netns("n".into())).unwrap();
        assert_eq!(read(&p).unwrap().last(), Some(&Made::Netns("n".into())));
        let _ = std::fs::remove_file(&p);
    }
}
