//! Host network devices for a VM's NICs, and their removal.
//!
//! Every device is journaled in the VM's directory ([`JOURNAL`]) before it
//! is made, and recorded as a [`Plumbing`] step in the VM's record once
//! the VM runs, so `stop`, `destroy`, a failed boot and an agent that
//! restarts after a `kill -9` at any point all remove what was created.

use crate::bail;
use crate::error::{Context, Result};
use std::path::{Path, PathBuf};

use super::{check_ifname, mac, tap_name, veth_name, NicSpec};
use crate::rundir::RunDir;
use crate::sys;

/// One thing made on the host, undone by [`undo`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plumbing {
    /// A tap device mbctl created.
    Tap(String),
    /// A port added to an Open vSwitch bridge: (bridge, port, the switch's
    /// `OVS_RUNDIR` when it is not the system's).
    OvsPort(String, String, Option<String>),
    /// The host end of a veth pair (removing it removes its peer too).
    Veth(String),
}

impl Plumbing {
    /// Text form kept in the store (`tap:X`, `ovs:BR:X`, `veth:X`).
    pub fn encode(&self) -> String {
        match self {
            Plumbing::Tap(t) => format!("tap:{t}"),
            Plumbing::OvsPort(b, p, None) => format!("ovs:{b}:{p}"),
            Plumbing::OvsPort(b, p, Some(r)) => format!("ovs:{b}:{p}:{r}"),
            Plumbing::Veth(v) => format!("veth:{v}"),
        }
    }

    /// Parses [`encode`](Self::encode)'s form.
    pub fn decode(s: &str) -> Option<Plumbing> {
        let (k, rest) = s.split_once(':')?;
        match k {
            "tap" => Some(Plumbing::Tap(rest.into())),
            "veth" => Some(Plumbing::Veth(rest.into())),
            "ovs" => {
                let mut f = rest.splitn(3, ':');
                let (b, p) = (f.next()?, f.next()?);
                Some(Plumbing::OvsPort(
                    b.into(),
                    p.into(),
                    f.next().map(str::to_string),
                ))
            }
            _ => None,
        }
    }
}

/// How QEMU reaches a NIC's host side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attach {
    /// A tap device.
    Tap(String),
    /// Unix datagram sockets: (QEMU's own, the peer's).
    Socket(PathBuf, PathBuf),
}

/// A NIC as set up on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostNic {
    /// What `--nic` asked for.
    pub spec: NicSpec,
    /// Its MAC address.
    pub mac: String,
    /// What QEMU opens.
    pub attach: Attach,
    /// What to remove, in the order it was made.
    pub made: Vec<Plumbing>,
}

impl HostNic {
    /// The host interface name carrying the NIC's frames (tap), if any.
    pub fn ifname(&self) -> Option<&str> {
        match &self.attach {
            Attach::Tap(t) => Some(t),
            Attach::Socket(..) => None,
        }
    }
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

fn is_linux_bridge(name: &str) -> bool {
    Path::new("/sys/class/net")
        .join(name)
        .join("bridge")
        .exists()
}

fn ovs_env(rundir: Option<&str>) -> Vec<(&'static str, &str)> {
    rundir.map(|r| ("OVS_RUNDIR", r)).into_iter().collect()
}

fn ovs_bridge_exists(br: &str, rundir: Option<&str>) -> bool {
    sys::which("ovs-vsctl").is_some()
        && sys::run_env(
            "ovs-vsctl",
            &["--timeout=5", "br-exists", br],
            &ovs_env(rundir),
        )
        .is_ok()
}

/// The file in a VM's directory listing, one [`Plumbing::encode`] a line,
/// every device about to be made for its NICs.
pub const JOURNAL: &str = "made";

/// Appends `p` to the journal in `vm_dir`, durably, before it is made.
fn intend(vm_dir: &Path, p: &Plumbing) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = vm_dir.join(JOURNAL);
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| {
            f.write_all(format!("{}\n", p.encode()).as_bytes())?;
            f.sync_data()
        })
        .with_context(|| format!("writing {}", path.display()))
}

/// What the journal in `vm_dir` lists (maybe never made, or already gone).
pub fn journaled(vm_dir: &Path) -> Vec<Plumbing> {
    std::fs::read_to_string(vm_dir.join(JOURNAL))
        .unwrap_or_default()
        .lines()
        .filter_map(Plumbing::decode)
        .collect()
}

/// Journals `p`, makes it with `make`, remembers it in `made`, and counts
/// a fault-injection step.
fn make(
    vm_dir: &Path,
    made: &mut Vec<Plumbing>,
    p: Plumbing,
    make: impl FnOnce() -> Result<()>,
) -> Result<()> {
    intend(vm_dir, &p)?;
    make()?;
    made.push(p);
    crate::fault::step()
}

fn create_tap(name: &str, vm_dir: &Path, made: &mut Vec<Plumbing>) -> Result<()> {
    check_ifname(name)?;
    make(vm_dir, made, Plumbing::Tap(name.into()), || {
        sys::run("ip", &["tuntap", "add", "dev", name, "mode", "tap"])
            .map(drop)
            .with_context(|| format!("creating tap {name}"))
    })?;
    // The tap is a switch port, not a host interface: without this the
    // host sends IPv6 router solicitations and MLD reports into the guest,
    // frames no peer sent (chain counters would count them).
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
    sys::run("ip", &["link", "set", name, "up"])?;
    Ok(())
}

/// Userspace-datapath bridges stall TCP unless offloads are off on every
/// port (PLATFORM.md); harmless elsewhere, and ethtool may be absent.
fn offloads_off(dev: &str, ns: Option<&str>) {
    let mut args: Vec<&str> = Vec::new();
    if let Some(ns) = ns {
        args.extend(["netns", "exec", ns, "ethtool"]);
    }
    args.extend([
        "-K", dev, "tx", "off", "tso", "off", "gso", "off", "gro", "off",
    ]);
    let _ = if ns.is_some() {
        sys::run("ip", &args)
    } else {
        sys::run("ethtool", &args)
    };
}

/// tc mirred in both directions: whatever enters one device leaves the other.
fn join_devices(a: &str, b: &str) -> Result<()> {
    for (from, to) in [(a, b), (b, a)] {
        sys::run("tc", &["qdisc", "add", "dev", from, "ingress"])?;
        sys::run(
            "tc",
            &[
                // u32 matching everything: matchall is not built into every kernel.
                "filter", "add", "dev", from, "parent", "ffff:", "protocol", "all", "u32", "match",
                "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", to,
            ],
        )?;
    }
    Ok(())
}

/// Sets up NIC `nic` of domain `domid` for QEMU. `vm_dir` holds the VM's
/// sockets; `ovs_rundir` names a private Open vSwitch (its `OVS_RUNDIR`).
/// On failure, whatever was made for this NIC is already removed.
pub fn setup(
    run: &RunDir,
    domid: u32,
    nic: usize,
    spec: &NicSpec,
    vm_dir: &Path,
    ovs_rundir: Option<&str>,
) -> Result<HostNic> {
    let mut made = Vec::new();
    match setup_inner(run, domid, nic, spec, vm_dir, ovs_rundir, &mut made) {
        Ok(attach) => Ok(HostNic {
            spec: spec.clone(),
            mac: mac(domid, nic),
            attach,
            made,
        }),
        Err(e) => {
            undo(&made);
            Err(e)
        }
    }
}

fn setup_inner(
    run: &RunDir,
    domid: u32,
    nic: usize,
    spec: &NicSpec,
    vm_dir: &Path,
    ovs_rundir: Option<&str>,
    made: &mut Vec<Plumbing>,
) -> Result<Attach> {
    if spec.needs_root() {
        sys::require_root(&format!("--nic {spec} (creating network devices)"))
            .map_err(|e| crate::error::Error::Invalid(format!("{e}, or use --nic socket:PATH")))?;
        sys::require("ip")?;
    }
    match spec {
        NicSpec::Socket(peer) => Ok(Attach::Socket(
            vm_dir.join(format!("nic{nic}.sock")),
            peer.clone(),
        )),
        NicSpec::Tap(name) => {
            if link_exists(name) {
                if !Path::new("/sys/class/net")
                    .join(name)
                    .join("tun_flags")
                    .exists()
                {
                    bail!("--nic tap:{name}: {name} exists and is not a tap device");
                }
            } else {
                create_tap(name, vm_dir, made)?;
            }
            Ok(Attach::Tap(name.clone()))
        }
        NicSpec::Bridge(br) => {
            let tap = tap_name(run, domid, nic);
            let ovs = ovs_bridge_exists(br, ovs_rundir);
            if !ovs && !is_linux_bridge(br) {
                if sys::which("ovs-vsctl").is_none() {
                    bail!(
                        "--nic bridge:{br}: no bridge {br} (Open vSwitch is not installed: \
                         `apt-get install openvswitch-switch`; or create a Linux bridge)"
                    );
                }
                bail!("--nic bridge:{br}: no Open vSwitch or Linux bridge named {br} (create it with `ovs-vsctl add-br {br}`)");
            }
            create_tap(&tap, vm_dir, made)?;
            if ovs {
                let port =
                    Plumbing::OvsPort(br.clone(), tap.clone(), ovs_rundir.map(str::to_string));
                make(vm_dir, made, port, || {
                    sys::run_env(
                        "ovs-vsctl",
                        &["--timeout=10", "add-port", br, &tap],
                        &ovs_env(ovs_rundir),
                    )
                    .map(drop)
                    .with_context(|| format!("adding {tap} to bridge {br}"))
                })?;
            } else {
                sys::run("ip", &["link", "set", &tap, "master", br])?;
            }
            offloads_off(&tap, None);
            Ok(Attach::Tap(tap))
        }
        NicSpec::Netns(ns, ifname) => {
            if !Path::new("/run/netns").join(ns).exists() {
                bail!("--nic netns:{ns}: no network namespace {ns} (create it with `ip netns add {ns}`)");
            }
            let inner = ifname.clone().unwrap_or_else(|| format!("eth{nic}"));
            let tap = tap_name(run, domid, nic);
            let veth = veth_name(run, domid, nic);
            create_tap(&tap, vm_dir, made)?;
            make(vm_dir, made, Plumbing::Veth(veth.clone()), || {
                sys::run(
                    "ip",
                    &[
                        "link", "add", &veth, "type", "veth", "peer", "name", &inner, "netns", ns,
                    ],
                )
                .map(drop)
                .with_context(|| {
                    format!(
                        "creating veth {veth} <-> {ns}:{inner} (is {inner} already used in {ns}?)"
                    )
                })
            })?;
            sys::run("ip", &["link", "set", &veth, "up"])?;
            sys::run("ip", &["-n", ns, "link", "set", &inner, "up"])?;
            offloads_off(&veth, None);
            offloads_off(&inner, Some(ns));
            join_devices(&tap, &veth)?;
            Ok(Attach::Tap(tap))
        }
    }
}

/// Removes what was made, newest first; keeps going past errors (a device
/// may already be gone) and returns the first.
pub fn undo(made: &[Plumbing]) -> Option<crate::error::Error> {
    let mut first = None;
    for p in made.iter().rev() {
        let r = match p {
            Plumbing::OvsPort(b, port, rundir) => sys::run_env(
                "ovs-vsctl",
                &["--timeout=10", "--if-exists", "del-port", b, port],
                &ovs_env(rundir.as_deref()),
            )
            .map(drop),
            Plumbing::Tap(t) | Plumbing::Veth(t) => {
                if link_exists(t) {
                    sys::run("ip", &["link", "del", t]).map(drop)
                } else {
                    Ok(())
                }
            }
        };
        if let Err(e) = r {
            first.get_or_insert(e);
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plumbing_round_trips() {
        for p in [
            Plumbing::Tap("mb1n0".into()),
            Plumbing::OvsPort("br0".into(), "mb1n0".into(), None),
            Plumbing::OvsPort("br0".into(), "mb1n0".into(), Some("/tmp/ovs".into())),
            Plumbing::Veth("mb1v0".into()),
        ] {
            assert_eq!(Plumbing::decode(&p.encode()), Some(p));
        }
        assert_eq!(Plumbing::decode("bogus"), None);
    }

    #[test]
    fn sockets_need_nothing_from_the_host() {
        let d = Path::new("/tmp/vm");
        let run = RunDir::new("/tmp/run");
        let n = setup(&run, 5, 1, &NicSpec::Socket("/tmp/peer".into()), d, None).unwrap();
        assert_eq!(
            n.attach,
            Attach::Socket(d.join("nic1.sock"), "/tmp/peer".into())
        );
        assert!(n.made.is_empty());
        assert_eq!(n.mac, "52:54:00:00:05:01");
    }

    #[test]
    fn missing_namespace_is_reported() {
        if !sys::is_root() {
            return;
        }
        let e = setup(
            &RunDir::new("/tmp/run"),
            5,
            0,
            &NicSpec::Netns("mbctl-no-such-ns".into(), None),
            Path::new("/tmp"),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("ip netns add"), "{e}");
    }
}
