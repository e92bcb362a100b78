//! Open vSwitch as the toolstack uses it.
//!
//! [`Ovs::open`] picks the system's Open vSwitch when its daemons run, and
//! otherwise starts a private `ovsdb-server` and `ovs-vswitchd`
//! (`--disable-system`, userspace datapath) under a directory of the run
//! directory ([`daemon`]). Every bridge and port made here is tagged
//! `external_ids:mbctl=OWNER`, and removal refuses anything untagged, so
//! bridges an operator made are never touched ([`bridge`]). OpenFlow rules
//! carry a cookie per owner and are removed by it ([`flow`]); the
//! controller's frequent small changes go over an OpenFlow connection
//! kept to each bridge ([`openflow`]), the rest through `ovs-ofctl`.

#![warn(missing_docs)]

pub mod bridge;
pub mod daemon;
mod error;
pub mod flow;
pub mod netdev;
pub mod openflow;
pub mod tool;

pub use bridge::PortStats;
pub use error::{Error, Result};
pub use flow::{cookie_of, FlowStats};
pub use openflow::Change;

use std::path::{Path, PathBuf};

/// The external_ids key that marks what the toolstack made.
pub const TAG: &str = "mbctl";

/// Where the system's Open vSwitch keeps its sockets.
pub const SYSTEM_RUNDIR: &str = "/var/run/openvswitch";

/// A handle on one Open vSwitch instance.
#[derive(Clone, Debug)]
pub struct Ovs {
    rundir: PathBuf,
    private: bool,
    datapath: &'static str,
}

impl Ovs {
    /// The system's instance if its database and switch daemons answer,
    /// else the private one under `dir` (started when not running).
    pub fn open(dir: &Path) -> Result<Ovs> {
        if std::env::var("MBCTL_OVS").as_deref() != Ok("private") {
            if let Some(o) = Ovs::system() {
                return Ok(o);
            }
        }
        Ovs::private(dir)
    }

    /// The system's instance, when `ovsdb-server` and `ovs-vswitchd` run.
    pub fn system() -> Option<Ovs> {
        let rundir = PathBuf::from(SYSTEM_RUNDIR);
        if !daemon::answers(&rundir) {
            return None;
        }
        Some(Ovs {
            rundir,
            private: false,
            datapath: datapath_type(),
        })
    }

    /// The private instance under `dir`, started if it is not running.
    pub fn private(dir: &Path) -> Result<Ovs> {
        daemon::ensure(dir)?;
        Ok(Ovs {
            rundir: dir.to_path_buf(),
            private: true,
            // `--disable-system` leaves only the userspace datapath.
            datapath: "netdev",
        })
    }

    /// The private instance under `dir` if it runs, without starting it.
    pub fn private_if_running(dir: &Path) -> Option<Ovs> {
        daemon::answers(dir).then(|| Ovs {
            rundir: dir.to_path_buf(),
            private: true,
            datapath: "netdev",
        })
    }

    /// Whether this is a private instance.
    pub fn is_private(&self) -> bool {
        self.private
    }

    /// The directory holding its sockets (what `OVS_RUNDIR` must be for
    /// plain `ovs-vsctl`/`ovs-ofctl` to reach it).
    pub fn rundir(&self) -> &Path {
        &self.rundir
    }

    /// `unix:<rundir>/db.sock`, for `ovs-vsctl --db=`.
    pub fn db(&self) -> String {
        format!("unix:{}", self.rundir.join("db.sock").display())
    }

    /// The datapath type new bridges get (`netdev` or `system`).
    pub fn datapath(&self) -> &'static str {
        self.datapath
    }

    /// Stops a private instance (no-op for the system's).
    pub fn stop(&self) -> Result<()> {
        if self.private {
            daemon::stop(&self.rundir)?;
        }
        Ok(())
    }

    /// Runs `ovs-vsctl ARGS` against this instance's database.
    pub fn vsctl_raw(&self, args: &[&str]) -> Result<String> {
        self.vsctl(args)
    }

    pub(crate) fn vsctl(&self, args: &[&str]) -> Result<String> {
        let db = format!("--db={}", self.db());
        let mut v = vec![db.as_str(), "--timeout=20"];
        v.extend_from_slice(args);
        tool::run("ovs-vsctl", &v, &[])
    }

    /// Bridge `bridge`'s OpenFlow management socket.
    pub(crate) fn mgmt(&self, bridge: &str) -> PathBuf {
        self.rundir.join(format!("{bridge}.mgmt"))
    }

    pub(crate) fn ofctl(&self, cmd: &str, bridge: &str, rest: &[&str]) -> Result<String> {
        // The bridge's management socket, so no OVS_RUNDIR is needed.
        let target = format!("unix:{}", self.mgmt(bridge).display());
        let mut v = vec!["--timeout=20", cmd, target.as_str()];
        v.extend_from_slice(rest);
        tool::run("ovs-ofctl", &v, &[])
    }
}

/// The kernel datapath when its module is loaded, else the userspace one.
fn datapath_type() -> &'static str {
    if Path::new("/sys/module/openvswitch").exists() {
        "system"
    } else {
        "netdev"
    }
}
