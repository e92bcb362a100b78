//! VM backends behind one trait: QEMU/KVM ([`qemu`]) and Xen's xl ([`xl`]).
//!
//! A backend makes the VM and its NICs, and later tells whether it still
//! runs and makes it go. Everything about the store (the config, the
//! status, the records) is common and lives in the agent, so both
//! backends speak the same ClickOS protocol.

pub mod accel;
pub mod confine;
pub mod qemu;
pub mod tsc;
pub mod xl;

use crate::error::Result;
use std::path::PathBuf;
use std::time::Duration;

use crate::files::VmFiles;
use crate::net::NicSpec;
use crate::{NicRecord, Record};

/// Which backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Kind {
    /// QEMU microvm (KVM or TCG), store over a virtio-console.
    Qemu,
    /// Xen through `xl`, store through the system's xenstored.
    Xl,
}

impl Kind {
    /// Its name in records and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Qemu => "qemu",
            Kind::Xl => "xl",
        }
    }

    /// This host's own: xl on a Xen dom0, QEMU elsewhere.
    pub fn for_host() -> Kind {
        if xl::host_is_dom0() {
            Kind::Xl
        } else {
            Kind::Qemu
        }
    }

    /// Parses [`as_str`](Self::as_str)'s name.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "qemu" => Some(Kind::Qemu),
            "xl" => Some(Kind::Xl),
            _ => None,
        }
    }
}

/// What to launch.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Middlebox name.
    pub name: String,
    /// Domain id chosen by the toolstack (QEMU); Xen chooses its own.
    pub domid: u32,
    /// Guest image (PVH ELF).
    pub image: PathBuf,
    /// Guest memory, e.g. `32M`.
    pub memory: String,
    /// Requested accelerator (QEMU).
    pub accel: accel::Request,
    /// NICs in guest order.
    pub nics: Vec<NicSpec>,
    /// The guest's store socket (QEMU backend).
    pub store_socket: PathBuf,
    /// The VM's files.
    pub files: VmFiles,
    /// `OVS_RUNDIR` of a private Open vSwitch for `bridge:` NICs.
    pub ovs_rundir: Option<String>,
}

/// A launched VM.
#[derive(Clone, Debug)]
pub struct Launched {
    /// Its domain id (Xen may differ from the plan's).
    pub domid: u32,
    /// QEMU's pid.
    pub pid: Option<i32>,
    /// Accelerator used.
    pub accel: String,
    /// Notes for the user (e.g. why TCG was chosen).
    pub notes: Vec<String>,
    /// NICs as set up.
    pub nics: Vec<NicRecord>,
    /// Started paused: the caller writes the config, then [`Backend::unpause`].
    pub paused: bool,
}

/// A VM backend.
pub trait Backend: Send + Sync {
    /// Which one.
    fn kind(&self) -> Kind;
    /// Whether the toolstack picks domain ids (true) or the hypervisor does.
    fn chooses_domid(&self) -> bool;
    /// Sets up the NICs and starts the VM. On error nothing it made is left.
    fn launch(&self, plan: &Plan) -> Result<Launched>;
    /// Lets a VM started paused run.
    fn unpause(&self, rec: &Record) -> Result<()>;
    /// Whether the VM of `rec` still exists.
    fn alive(&self, rec: &Record) -> bool;
    /// Waits up to `timeout` for the VM to go by itself (after `Halted`);
    /// true if it went.
    fn wait_gone(&self, rec: &Record, timeout: Duration) -> bool;
    /// Ends the VM at once and waits until it is gone.
    fn destroy(&self, rec: &Record) -> Result<()>;
    /// Removes the host devices recorded for its NICs.
    fn remove_nics(&self, rec: &Record) -> Result<()> {
        let mut first = None;
        for n in &rec.nics {
            if let Some(e) = crate::net::host::undo(&n.made) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

/// The backend of a kind, for the VMs of `run`.
pub fn get(kind: Kind, run: &crate::rundir::RunDir) -> Box<dyn Backend> {
    match kind {
        Kind::Qemu => Box::new(qemu::Qemu::new(run)),
        Kind::Xl => Box::new(xl::Xl::new(Box::new(xl::SystemXl))),
    }
}
