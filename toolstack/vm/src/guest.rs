//! What a guest runs: its image, and the host-side check a config passes
//! before it goes to a guest (`mbctl check`'s, plus the guest's limits: no
//! files, so no pcap elements), with errors naming the file as the user
//! gave it.

use click::Errors;
use mb_store_client::clickos::{self, StoreOps};
use std::path::{Path, PathBuf};

/// The guest image under an install prefix (`make install PREFIX=...`).
pub const IMAGE_IN_PREFIX: &str = "share/mb/mb.elf";

/// Where `mbctl boot` looks for the guest image when neither `--image`
/// nor `$MB_IMAGE` names one, first found wins: `images/mb.elf` in the
/// current directory; the checkout `exe` was built in
/// (`<checkout>/target/<profile>/mbctl`); the prefix `exe` is installed in
/// (`<prefix>/bin/mbctl` → `<prefix>/share/mb/mb.elf`); then
/// `/usr/local/share/mb/mb.elf` and `/usr/share/mb/mb.elf`.
pub fn image_candidates(exe: Option<&Path>) -> Vec<PathBuf> {
    let mut c = vec![PathBuf::from("images/mb.elf")];
    let up = |p: &Path, n: usize| {
        (0..n).try_fold(p.to_path_buf(), |p, _| p.parent().map(Path::to_path_buf))
    };
    if let Some(exe) = exe {
        if let Some(checkout) = up(exe, 3) {
            c.push(checkout.join("images/mb.elf"));
        }
        if let Some(prefix) = up(exe, 2) {
            c.push(prefix.join(IMAGE_IN_PREFIX));
        }
    }
    for prefix in ["/usr/local", "/usr"] {
        c.push(Path::new(prefix).join(IMAGE_IN_PREFIX));
    }
    c
}

/// The guest image `mbctl boot` uses by default: `$MB_IMAGE`, else the
/// first of [`image_candidates`] for this executable that exists.
pub fn default_image() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MB_IMAGE") {
        return Some(PathBuf::from(p));
    }
    let exe = std::env::current_exe().ok();
    image_candidates(exe.as_deref())
        .into_iter()
        .find(|p| p.is_file())
}

/// Element names of the config domain `domid` runs.
pub fn config_elements(
    st: &mut dyn StoreOps,
    domid: u32,
    file: &str,
) -> crate::Result<Vec<String>> {
    let src = clickos::read_config(st, domid)?;
    let reg = mb_runner::registry();
    match click::lang::parse(&src, file, &[], &|c| reg.contains(c)) {
        Ok(flat) => Ok(flat.elements.into_iter().map(|e| e.name).collect()),
        Err(errs) => crate::bail!(
            "the stored config does not parse: {}",
            errs.0.first().map(|e| e.to_string()).unwrap_or_default()
        ),
    }
}

/// Classes that exist only in the host runner: pcap files, then the
/// host's own network stack (tun/tap devices).
pub const HOST_ONLY: &[&str] = &[
    "FromDump",
    "ToDump",
    "KernelTun",
    "KernelTap",
    "FromHost",
    "ToHost",
    "ToHostSniffers",
    "ControlSocket",
];

/// Why a host-only class cannot run in a VM.
fn host_only_reason(class: &str) -> &'static str {
    match class {
        "FromDump" | "ToDump" => {
            "reads or writes files, which a VM has none of; use FromDevice/ToDevice(N) for its NICs"
        }
        "ControlSocket" => {
            "listens on a host socket, which a VM has none of; read and write a VM's handlers with `mbctl read`/`mbctl write`"
        }
        _ => "talks to the host's network stack through a tun/tap device, which a VM has none of; run it with `mbctl run`, or use FromDevice/ToDevice(N) for the VM's NICs",
    }
}

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

/// Checks `source` (from `file`, with `overrides` of its `define`s) for a
/// VM with `nics` NICs (`usize::MAX`: any number): what `mbctl check`
/// reports, plus host-only classes and device elements naming a NIC the VM
/// lacks. Returns the element and connection counts, or every error in
/// file order.
pub fn check(
    source: &str,
    file: &str,
    overrides: &[(String, String)],
    nics: usize,
) -> Result<(usize, usize), Vec<click::Error>> {
    let (counts, mut errs) = match mb_runner::check_for_guest(source, file, overrides) {
        Ok(counts) => (counts, Vec::new()),
        Err(Errors(errs)) => ((0, 0), errs),
    };
    let reg = mb_runner::registry();
    // What parses, even around errors, so every host-only class and
    // missing NIC is reported with the rest.
    let (flat, _) =
        click::lang::parse_all(source, file, overrides, &|c| reg.contains(c), &|_| None);
    for e in &flat.elements {
        if matches!(e.class.as_str(), "FromDevice" | "PollDevice" | "ToDevice") {
            let dev = e.config.split(',').next().unwrap_or("").trim();
            if let Some(n) = nic_of(dev).filter(|&n| n >= nics) {
                errs.push(click::Error::new(
                    e.span.clone(),
                    format!(
                        "'{} :: {}': no NIC {n} (this middlebox has {nics}: one per --nic, from 0)",
                        e.name, e.class
                    ),
                ));
            }
        }
        if HOST_ONLY.contains(&e.class.as_str()) {
            errs.push(click::Error::new(
                e.span.clone(),
                format!("'{} :: {}' {}", e.name, e.class, host_only_reason(&e.class)),
            ));
        }
    }
    errs.sort_by_key(|e| (e.span.line, e.span.col));
    if errs.is_empty() {
        Ok(counts)
    } else {
        Err(errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_mbctl_finds_its_image() {
        let c = image_candidates(Some(Path::new("/opt/mb/bin/mbctl")));
        let at = |p: &str| c.iter().position(|x| x == Path::new(p));
        let installed = at("/opt/mb/share/mb/mb.elf").expect("prefix image searched");
        assert!(at("images/mb.elf").unwrap() < installed);
        assert!(installed < at("/usr/local/share/mb/mb.elf").unwrap());
        assert!(at("/usr/share/mb/mb.elf").is_some());
        let c = image_candidates(Some(Path::new("/src/mb/target/release/mbctl")));
        assert!(c.contains(&PathBuf::from("/src/mb/images/mb.elf")), "{c:?}");

        // And it is found there, on disk.
        let root = std::env::temp_dir().join(format!("mbctl-install-{}", std::process::id()));
        let img = root.join(IMAGE_IN_PREFIX);
        std::fs::create_dir_all(img.parent().unwrap()).unwrap();
        std::fs::write(&img, b"ELF").unwrap();
        let found = image_candidates(Some(&root.join("bin/mbctl")))
            .into_iter()
            .find(|p| p.is_file() && p.starts_with(&root));
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(found, Some(img));
    }

    #[test]
    fn vm_limits() {
        let check = |src: &str, file: &str, nics: usize| {
            check(src, file, &[], nics)
                .map_err(|e| e.iter().map(|e| e.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            check(
                "FromDevice(0) -> c :: Counter -> ToDevice(1);",
                "ok.click",
                2
            ),
            Ok((3, 2))
        );
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
        // The host's stack is out of a VM's reach, by name.
        let e = check(
            "t :: KernelTun(10.0.0.1/24) -> Queue -> t;\nFromHost(fake0, 10.1.0.1/24) -> ToHost(fake0);",
            "tun.click",
            0,
        )
        .unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].starts_with("tun.click:1:1: 't :: KernelTun' talks to the host's network stack")
        );
        assert!(e[1].contains("FromHost") && e[2].contains("ToHost") && e[2].contains("mbctl run"));
        // PollDevice names a NIC as FromDevice does.
        let e = check("PollDevice(eth2) -> Discard;", "poll.click", 1).unwrap_err();
        assert!(e[0].contains("no NIC 2"), "{e:?}");
        let e = check("Idle -> NoSuchThing -> Discard;", "bad.click", 0).unwrap_err();
        assert!(e[0].starts_with("bad.click:1:"), "{e:?}");
        // Every error, in file order, whichever check found it.
        let e = check(
            "FromDump(x.pcap) -> Discard;\nIdle -> Countr -> Discard;\nFromDevice(4) -> Discard;",
            "all.click",
            usize::MAX,
        )
        .unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("all.click:1:1:") && e[0].contains("FromDump"));
        assert!(e[1].starts_with("all.click:2:") && e[1].contains("Counter"));
        // Definitions apply as the chain's flattening applies them.
        let src = "define($DEV 3);\nFromDevice($DEV) -> Discard;";
        assert!(check(src, "d.click", 2).is_err());
        let defs = [("DEV".to_string(), "1".to_string())];
        assert!(super::check(src, "d.click", &defs, 2).is_ok());
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
