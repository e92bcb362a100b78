//! A middlebox's record under `/mbctl/vm/<name>/`, as libxl keeps its own
//! under `/libxl/`: one node per field, so `xenstore-ls /mbctl` reads well.
//!
//! | node | meaning |
//! | --- | --- |
//! | `domid`, `backend` (`qemu`/`xl`), `state`, `started` (Unix seconds) | |
//! | `pid` | QEMU's pid (qemu backend) |
//! | `config_name`, `config_file` | the config's label and the file it came from |
//! | `memory`, `accel`, `image` | how it was started |
//! | `nic/<i>/spec`, `mac`, `ifname`, `made` | each NIC: `--nic`, MAC, host interface, devices to remove |
//! | `crash_log` | a crashed guest's last console lines |
//!
//! The record is written (state `booting`) before anything of the VM is
//! made, and removed last, after its VM is gone: while it exists its
//! domain id is taken, and a restarted agent finishes or undoes whatever
//! a killed one left half done from it (its NICs' devices are journaled
//! in the VM's directory, see [`crate::net::host::JOURNAL`]).
//!
//! `/mbctl/domid/<D>` maps a domain id back to its name, and keeps the id
//! taken while the record exists.

use crate::error::{Context, Result};

use crate::net::{host::Plumbing, NicSpec};
use mb_store_client::clickos::{Op, StoreOps};

/// Root of the records.
pub const VMS: &str = "/mbctl/vm";
/// Index of domain ids in use.
pub const DOMIDS: &str = "/mbctl/domid";

/// Where a middlebox is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Started; its router has not loaded yet.
    Booting,
    /// Its router runs.
    Running,
    /// Being stopped.
    Stopping,
    /// Its VM went away without being stopped.
    Crashed,
}

impl State {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Booting => "booting",
            State::Running => "running",
            State::Stopping => "stopping",
            State::Crashed => "crashed",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s word.
    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "booting" => State::Booting,
            "running" => State::Running,
            "stopping" => State::Stopping,
            "crashed" => State::Crashed,
            _ => return None,
        })
    }
}

/// One NIC's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicRecord {
    /// `--nic` as given.
    pub spec: String,
    /// MAC address.
    pub mac: String,
    /// Host interface (tap, or Xen's vif), if any.
    pub ifname: Option<String>,
    /// Host devices to remove when the middlebox goes.
    pub made: Vec<Plumbing>,
}

/// A middlebox's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Its name (the record's key).
    pub name: String,
    /// Domain id in the store.
    pub domid: u32,
    /// `qemu` or `xl`.
    pub backend: String,
    /// Life state.
    pub state: State,
    /// QEMU's pid.
    pub pid: Option<i32>,
    /// Start time, Unix seconds.
    pub started: u64,
    /// The config's label (its file name).
    pub config_name: String,
    /// The config file as given.
    pub config_file: String,
    /// Guest memory (`-m`/xl syntax).
    pub memory: String,
    /// Accelerator used (`kvm`, `tcg`, `xen`).
    pub accel: String,
    /// Guest image.
    pub image: String,
    /// NICs in guest order.
    pub nics: Vec<NicRecord>,
}

/// `/mbctl/vm/<name>`.
pub fn path(name: &str) -> String {
    format!("{VMS}/{name}")
}

impl Record {
    /// The writes that store the whole record (after removing any old one).
    pub fn store_ops(&self) -> Vec<Op> {
        let b = path(&self.name);
        let w = |k: &str, v: String| Op::Write(format!("{b}/{k}"), v);
        let mut ops = vec![
            Op::Rm(b.clone()),
            w("domid", self.domid.to_string()),
            w("backend", self.backend.clone()),
            w("state", self.state.as_str().into()),
            w("started", self.started.to_string()),
            w("config_name", self.config_name.clone()),
            w("config_file", self.config_file.clone()),
            w("memory", self.memory.clone()),
            w("accel", self.accel.clone()),
            w("image", self.image.clone()),
            w("nics", self.nics.len().to_string()),
        ];
        if let Some(p) = self.pid {
            ops.push(w("pid", p.to_string()));
        }
        for (i, n) in self.nics.iter().enumerate() {
            ops.push(w(&format!("nic/{i}/spec"), n.spec.clone()));
            ops.push(w(&format!("nic/{i}/mac"), n.mac.clone()));
            if let Some(ifn) = &n.ifname {
                ops.push(w(&format!("nic/{i}/ifname"), ifn.clone()));
            }
            let made: Vec<String> = n.made.iter().map(|p| p.encode()).collect();
            ops.push(w(&format!("nic/{i}/made"), made.join(" ")));
        }
        ops.push(Op::Write(
            format!("{DOMIDS}/{}", self.domid),
            self.name.clone(),
        ));
        ops
    }

    /// The removals that forget it.
    pub fn remove_ops(&self) -> Vec<Op> {
        vec![
            Op::Rm(path(&self.name)),
            Op::Rm(format!("{DOMIDS}/{}", self.domid)),
        ]
    }

    /// Loads record `name`; `None` if there is none. Three batches of
    /// reads (pipelined where the store client can): the agent loads
    /// every record twice a second to notice crashed VMs.
    pub fn load(st: &mut dyn StoreOps, name: &str) -> Result<Option<Record>> {
        const FIELDS: [&str; 10] = [
            "domid",
            "backend",
            "state",
            "pid",
            "started",
            "config_name",
            "config_file",
            "memory",
            "accel",
            "image",
        ];
        let b = path(name);
        let paths: Vec<String> = FIELDS
            .iter()
            .chain(&["nics"])
            .map(|k| format!("{b}/{k}"))
            .collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let mut v = st.read_many(&refs)?.into_iter();
        let mut get = || v.next().flatten();
        let Some(domid) = get() else {
            return Ok(None);
        };
        let domid = domid
            .parse()
            .ok()
            .with_context(|| format!("record {b}: bad domid '{domid}'"))?;
        let backend = get().unwrap_or_default();
        let state = State::parse(&get().unwrap_or_default()).unwrap_or(State::Crashed);
        let pid = get().and_then(|p| p.parse().ok());
        let started = get().and_then(|s| s.parse().ok()).unwrap_or(0);
        let config_name = get().unwrap_or_default();
        let config_file = get().unwrap_or_default();
        let memory = get().unwrap_or_default();
        let accel = get().unwrap_or_default();
        let image = get().unwrap_or_default();
        let n: usize = get().and_then(|n| n.parse().ok()).unwrap_or(0);
        let paths: Vec<String> = (0..n)
            .flat_map(|i| ["spec", "mac", "ifname", "made"].map(|k| format!("{b}/nic/{i}/{k}")))
            .collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let mut v = st.read_many(&refs)?.into_iter();
        let mut get = || v.next().flatten().unwrap_or_default();
        let mut nics = Vec::new();
        for _ in 0..n {
            let spec = get();
            let mac = get();
            let ifname = Some(get()).filter(|s| !s.is_empty());
            let made = get()
                .split_whitespace()
                .filter_map(Plumbing::decode)
                .collect();
            nics.push(NicRecord {
                spec,
                mac,
                ifname,
                made,
            });
        }
        Ok(Some(Record {
            name: name.into(),
            domid,
            backend,
            state,
            pid,
            started,
            config_name,
            config_file,
            memory,
            accel,
            image,
            nics,
        }))
    }

    /// Record `name`, or the error a user can act on.
    pub fn load_existing(st: &mut dyn StoreOps, name: &str) -> Result<Record> {
        crate::check_name(name)?;
        Record::load(st, name)?.ok_or_else(|| crate::error::Error::NoSuchVm(name.into()))
    }

    /// Every record, by name.
    pub fn load_all(st: &mut dyn StoreOps) -> Result<Vec<Record>> {
        let mut names = st.list(VMS)?;
        names.sort();
        let mut out = Vec::new();
        for n in names {
            if let Some(r) = Record::load(st, &n)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The NICs' specs, parsed.
    pub fn nic_specs(&self) -> Vec<Option<NicSpec>> {
        self.nics
            .iter()
            .map(|n| NicSpec::parse(&n.spec).ok())
            .collect()
    }
}

/// `/mbctl/vm/<name>/crash_log`: the guest's last console lines, kept
/// when its VM went away by itself (state `crashed`).
pub fn crash_log_path(name: &str) -> String {
    format!("{}/crash_log", path(name))
}

/// The last console lines of crashed middlebox `name`, if recorded.
pub fn crash_log(st: &mut dyn StoreOps, name: &str) -> Result<Option<String>> {
    Ok(st.read(&crash_log_path(name))?)
}

/// The lowest domain id from 1 up that no record holds.
pub fn free_domid(st: &mut dyn StoreOps) -> Result<u32> {
    let used: std::collections::BTreeSet<u32> = st
        .list(DOMIDS)?
        .iter()
        .filter_map(|d| d.parse().ok())
        .collect();
    Ok((1..).find(|d| !used.contains(d)).unwrap_or(u32::MAX))
}

/// A record for other crates' unit tests.
#[doc(hidden)]
pub fn sample() -> Record {
    Record {
        name: "fw".into(),
        domid: 3,
        backend: "qemu".into(),
        state: State::Running,
        pid: Some(1234),
        started: 1_700_000_000,
        config_name: "firewall.click".into(),
        config_file: "/etc/fw/firewall.click".into(),
        memory: "32M".into(),
        accel: "tcg".into(),
        image: "/x/mb.elf".into(),
        nics: vec![
            NicRecord {
                spec: "bridge:br0".into(),
                mac: "52:54:00:00:03:00".into(),
                ifname: Some("mb3n0".into()),
                made: vec![
                    Plumbing::Tap("mb3n0".into()),
                    Plumbing::OvsPort("br0".into(), "mb3n0".into(), None),
                ],
            },
            NicRecord {
                spec: "socket:/tmp/p".into(),
                mac: "52:54:00:00:03:01".into(),
                ifname: None,
                made: vec![],
            },
        ],
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mb_store_client::clickos::apply;
    use mb_store_client::mem::Mem;

    #[test]
    fn round_trip_and_domids() {
        let mut m = Mem::default();
        assert_eq!(free_domid(&mut m).unwrap(), 1);
        let r = sample();
        apply(&mut m, &r.store_ops()).unwrap();
        assert_eq!(
            m.nodes.get("/mbctl/vm/fw/nic/0/made").unwrap(),
            "tap:mb3n0 ovs:br0:mb3n0"
        );
        assert_eq!(Record::load(&mut m, "fw").unwrap(), Some(r.clone()));
        assert_eq!(Record::load(&mut m, "nope").unwrap(), None);
        assert_eq!(Record::load_all(&mut m).unwrap().len(), 1);
        assert_eq!(free_domid(&mut m).unwrap(), 1);
        m.nodes.insert("/mbctl/domid/1".into(), "x".into());
        assert_eq!(free_domid(&mut m).unwrap(), 2);
        apply(&mut m, &r.remove_ops()).unwrap();
        assert!(!m
            .nodes
            .keys()
            .any(|k| k.starts_with("/mbctl/vm/fw") || k == "/mbctl/domid/3"));
    }
}
