//! Choosing QEMU's accelerator. `auto` prefers KVM when it is usable and
//! fast: a KVM that only offers a paravirtual backend (`kvm_pvm`, no
//! VMX/SVM in the CPU flags) runs our ring-0 guest about 1000x slower than
//! TCG (unikernel/kernel/README.md), so `auto` takes TCG there and says why.

use crate::bail;
use crate::error::Result;
use std::fs::OpenOptions;

/// `--accel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Request {
    /// KVM when usable and hardware-backed, else TCG (with a note).
    Auto,
    /// KVM, or fail.
    Kvm,
    /// QEMU's emulator.
    Tcg,
}

/// What the host offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// /dev/kvm opens read-write.
    pub kvm_opens: bool,
    /// The CPU flags list vmx or svm.
    pub hw_virt: bool,
    /// The kvm_pvm module is loaded.
    pub pvm: bool,
}

impl Host {
    /// Probes this machine.
    pub fn probe() -> Host {
        let kvm_opens = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok();
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let hw_virt = cpuinfo
            .lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
        let pvm = std::path::Path::new("/sys/module/kvm_pvm").exists();
        Host {
            kvm_opens,
            hw_virt,
            pvm,
        }
    }
}

/// Picks the accelerator; returns it and a note when `auto` fell back.
pub fn choose(req: Request, host: &Host) -> Result<(&'static str, Option<String>)> {
    match req {
        Request::Tcg => Ok(("tcg", None)),
        Request::Kvm => {
            if !host.kvm_opens {
                bail!("--accel kvm: /dev/kvm cannot be opened (no KVM here, or not root); use --accel tcg");
            }
            Ok(("kvm", None))
        }
        Request::Auto => {
            if !host.kvm_opens {
                return Ok((
                    "tcg",
                    Some("no usable /dev/kvm: running under TCG (slower; QEMU's emulator)".into()),
                ));
            }
            if !host.hw_virt {
                let which = if host.pvm { "kvm_pvm, " } else { "" };
                return Ok((
                    "tcg",
                    Some(format!(
                        "KVM here is paravirtual only ({which}no VMX/SVM in /proc/cpuinfo) and runs \
                         this guest ~1000x slower than TCG: running under TCG (force with --accel kvm)"
                    )),
                ));
            }
            Ok(("kvm", None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(kvm_opens: bool, hw_virt: bool, pvm: bool) -> Host {
        Host {
            kvm_opens,
            hw_virt,
            pvm,
        }
    }

    #[test]
    fn auto_prefers_hardware_kvm() {
        assert_eq!(
            choose(Request::Auto, &host(true, true, false)).unwrap(),
            ("kvm", None)
        );
        let (a, note) = choose(Request::Auto, &host(true, false, true)).unwrap();
        assert_eq!(a, "tcg");
        assert!(note.unwrap().contains("kvm_pvm"));
        let (a, note) = choose(Request::Auto, &host(false, true, false)).unwrap();
        assert_eq!(a, "tcg");
        assert!(note.unwrap().contains("/dev/kvm"));
    }

    #[test]
    fn explicit_choices() {
        assert_eq!(
            choose(Request::Tcg, &host(true, true, false)).unwrap().0,
            "tcg"
        );
        assert_eq!(
            choose(Request::Kvm, &host(true, false, true)).unwrap().0,
            "kvm"
        );
        assert!(choose(Request::Kvm, &host(false, false, false)).is_err());
    }
}
