//! What a guest runs: its image, and the host-side check a config passes
//! before it goes to a guest (`mbctl check`'s, plus the guest's limits: no
//! files, so no pcap elements), with errors naming the file as the user
//! gave it.

use click::Errors;
use std::path::{Path, PathBuf};

/// The default guest image: `$MB_IMAGE`, else `images/mb.elf` here or in
/// the checkout this program was built in, else the installed one.
pub fn default_image() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MB_IMAGE") {
        return Some(PathBuf::from(p));
    }
    let mut cands = vec![PathBuf::from("images/mb.elf")];
    if let Ok(exe) = std::env::current_exe() {
        // target/{debug,release}/<program> in a checkout.
        if let Some(root) = exe.parent().and_then(Path::parent).and_then(Path::parent) {
            cands.push(root.join("images/mb.elf"));
        }
    }
    cands.push(PathBuf::from("/usr/share/mbctl/mb.elf"));
    cands.into_iter().find(|p| p.is_file())
}

/// Classes that exist only in the host runner.
pub const HOST_ONLY: &[&str] = &["FromDump", "ToDump"];

/// The NIC a device element names, as the guest reads it: a number, or
/// letters then a number (`eth1`).
pub fn nic_of(devname: &str) -> Option<usize> {
    let digits = devname.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Rewrites the guest's error positions (`config:L:C: ...`; the guest
/// does not know the file's name) to name `file`.
pub fn name_guest_errors(msg: &str, file: &str) -> String {
    msg.lines()
        .map(|l| match l.strip_prefix("config:") {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => {
                format!("{file}:{rest}")
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks `source` (from `file`) for a VM with `nics` NICs; returns the
/// error lines.
pub fn check(source: &str, file: &str, nics: usize) -> Result<(), Vec<String>> {
    let mut lines = Vec::new();
    if let Err(Errors(mut errs)) = mb_runner::check(source, file, &[]) {
        errs.sort_by_key(|e| (e.span.line, e.span.col));
        lines.extend(errs.iter().map(|e| e.to_string()));
    }
    let reg = mb_runner::registry();
    if let Ok(flat) = click::lang::parse(source, file, &[], &|c| reg.contains(c)) {
        for e in &flat.elements {
            if e.class == "FromDevice" || e.class == "ToDevice" {
                let dev = e.config.split(',').next().unwrap_or("").trim();
                if let Some(n) = nic_of(dev).filter(|&n| n >= nics) {
                    lines.push(format!(
                        "{}: '{} :: {}': no NIC {n} (this middlebox has {nics}: one per --nic, from 0)",
                        e.span, e.name, e.class
                    ));
                }
            }
            if HOST_ONLY.contains(&e.class.as_str()) {
                lines.push(format!(
                    "{}: '{} :: {}' reads or writes files, which a VM has none of; use FromDevice/ToDevice(N) for its NICs",
                    e.span, e.name, e.class
                ));
            }
        }
    }
    if lines.is_empty() {
        Ok(())
    } else {
        Err(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_limits() {
        assert!(check(
            "FromDevice(0) -> c :: Counter -> ToDevice(1);",
            "ok.click",
            2
        )
        .is_ok());
        let e = check(
            "FromDevice(0) -> c :: Counter -> ToDevice(eth1);",
            "one.click",
            1,
        )
        .unwrap_err();
        assert!(
            e[0].starts_with("one.click:1:") && e[0].contains("no NIC 1"),
            "{e:?}"
        );
        let e = check("FromDump(x.pcap) -> Discard;", "fw.click", 0).unwrap_err();
        assert!(e[0].starts_with("fw.click:1:1"), "{e:?}");
        assert!(e[0].contains("FromDevice"), "{e:?}");
        let e = check("Idle -> NoSuchThing -> Discard;", "bad.click", 0).unwrap_err();
        assert!(e[0].starts_with("bad.click:1:"), "{e:?}");
        assert_eq!(
            name_guest_errors(
                "config:2:31: no NIC 7\nconfig:3:1: x\nconfig: reading",
                "fw.click"
            ),
            "fw.click:2:31: no NIC 7\nfw.click:3:1: x\nconfig: reading"
        );
        assert_eq!(nic_of("eth12"), Some(12));
        assert_eq!(nic_of("x"), None);
    }
}
