//! Per-middlebox files in the run directory: `vms/<name>/` holds QEMU's pid
//! file, the serial log and socket, and the NICs' sockets.

use crate::rundir::RunDir;
use std::path::PathBuf;

/// The files of one middlebox.
#[derive(Clone, Debug)]
pub struct VmFiles {
    /// `<run>/vms/<name>`.
    pub dir: PathBuf,
}

impl VmFiles {
    /// The files of middlebox `name` under `run`.
    pub fn new(run: &RunDir, name: &str) -> VmFiles {
        VmFiles {
            dir: run.root().join("vms").join(name),
        }
    }

    /// QEMU's `-pidfile`.
    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("qemu.pid")
    }

    /// The guest's serial output.
    pub fn console_log(&self) -> PathBuf {
        self.dir.join("console.log")
    }

    /// The serial line's socket (QEMU listens; `mbctl console` attaches).
    pub fn console_socket(&self) -> PathBuf {
        self.dir.join("console.sock")
    }

    /// The state channel's socket (QEMU listens on a second virtio-console;
    /// `mb_state` connects to move element state in bulk).
    pub fn state_socket(&self) -> PathBuf {
        self.dir.join("state.sock")
    }

    /// Held (flock) by the `mbctl console` attached to the serial line.
    pub fn console_lock(&self) -> PathBuf {
        self.dir.join("console.lock")
    }

    /// QEMU's own messages (stderr of the launch).
    pub fn qemu_log(&self) -> PathBuf {
        self.dir.join("qemu.log")
    }

    /// The xl config written for the xl backend.
    pub fn xl_cfg(&self) -> PathBuf {
        self.dir.join("xl.cfg")
    }

    /// Removes the directory and everything in it.
    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
