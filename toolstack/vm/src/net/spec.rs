//! `--nic SPEC`: what a NIC is attached to.

use crate::bail;
use crate::error::Result;
use std::fmt;
use std::path::PathBuf;

use super::check_ifname;
use crate::backend::confine::check_plain;

/// A name that becomes a host interface and a value in QEMU's or xl's
/// option lists: what Linux allows, without option syntax.
fn check_nic_name(spec: &str, name: &str) -> Result<()> {
    check_ifname(name)
        .and_then(|()| check_plain("interface name", name))
        .map_err(|e| crate::error::Error::Invalid(format!("--nic '{}': {e}", spec.escape_debug())))
}

/// One `--nic` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NicSpec {
    /// `tap:NAME`: a tap device (created if missing, removed at stop only then).
    Tap(String),
    /// `bridge:BR`: a new tap added to bridge BR (Open vSwitch, or a Linux bridge).
    Bridge(String),
    /// `netns:NS[:IFNAME]`: a veth pair whose far end (IFNAME, default
    /// `eth<i>`) is in namespace NS, joined to the VM's tap by tc redirects.
    Netns(String, Option<String>),
    /// `socket:PATH`: a QEMU unix datagram socket; frames go to PATH (if
    /// it exists at boot: a confined QEMU cannot reach it later), and
    /// arrive from `<run dir>/vms/<name>/nic<i>.sock` (root not needed).
    Socket(PathBuf),
}

impl NicSpec {
    /// Parses `KIND:ARG`.
    pub fn parse(s: &str) -> Result<NicSpec> {
        if s.chars().any(char::is_control) {
            bail!(
                "--nic '{}': control characters (newline, tab, ...) are not allowed",
                s.escape_debug()
            );
        }
        let Some((kind, arg)) = s.split_once(':') else {
            bail!("--nic '{s}': expected tap:NAME, bridge:BR, netns:NS[:IFNAME] or socket:PATH");
        };
        if arg.is_empty() {
            bail!("--nic '{s}': missing the part after '{kind}:'");
        }
        Ok(match kind {
            "tap" => {
                check_nic_name(s, arg)?;
                NicSpec::Tap(arg.into())
            }
            "bridge" => {
                check_nic_name(s, arg)?;
                NicSpec::Bridge(arg.into())
            }
            "netns" => {
                let (ns, ifname) = match arg.split_once(':') {
                    Some((ns, i)) => {
                        check_nic_name(s, i)?;
                        (ns, Some(i.to_string()))
                    }
                    None => (arg, None),
                };
                if ns.is_empty() || ns.contains('/') || ns == "." || ns == ".." {
                    bail!("--nic '{s}': bad namespace name '{ns}'");
                }
                check_plain("namespace name", ns)
                    .map_err(|e| crate::error::Error::Invalid(format!("--nic '{s}': {e}")))?;
                NicSpec::Netns(ns.into(), ifname)
            }
            "socket" => NicSpec::Socket(PathBuf::from(arg)),
            _ => bail!("--nic '{s}': unknown kind '{kind}' (tap, bridge, netns or socket)"),
        })
    }

    /// Whether setting it up needs root (creating network devices).
    pub fn needs_root(&self) -> bool {
        !matches!(self, NicSpec::Socket(_))
    }
}

impl fmt::Display for NicSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NicSpec::Tap(n) => write!(f, "tap:{n}"),
            NicSpec::Bridge(b) => write!(f, "bridge:{b}"),
            NicSpec::Netns(ns, None) => write!(f, "netns:{ns}"),
            NicSpec::Netns(ns, Some(i)) => write!(f, "netns:{ns}:{i}"),
            NicSpec::Socket(p) => write!(f, "socket:{}", p.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for s in [
            "tap:tap0",
            "bridge:br0",
            "netns:left",
            "netns:left:veth1",
            "socket:/tmp/x.sock",
        ] {
            assert_eq!(NicSpec::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            NicSpec::parse("netns:a:b").unwrap(),
            NicSpec::Netns("a".into(), Some("b".into()))
        );
        assert!(!NicSpec::parse("socket:/x").unwrap().needs_root());
        assert!(NicSpec::parse("tap:t").unwrap().needs_root());
    }

    #[test]
    fn rejects_with_reasons() {
        let e = NicSpec::parse("tap:this-name-is-too-long")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 15"), "{e}");
        assert!(NicSpec::parse("tap0")
            .unwrap_err()
            .to_string()
            .contains("expected"));
        assert!(NicSpec::parse("vde:x")
            .unwrap_err()
            .to_string()
            .contains("unknown kind"));
        assert!(NicSpec::parse("bridge:").is_err());
        assert!(NicSpec::parse("netns:a/b").is_err());
    }

    #[test]
    fn refuses_option_syntax() {
        for (spec, why) in [
            ("tap:t0,vhost=on", "a comma"),
            ("tap:a,b", "a comma"),
            ("tap:a=b", "an '='"),
            ("bridge:br\"0", "a quote"),
            ("bridge:br'0", "a quote"),
            ("netns:left:in,0", "a comma"),
            ("netns:le,ft", "a comma"),
            ("netns:a=b", "an '='"),
            ("tap:a\nb", "control characters"),
            ("socket:/tmp/a\nb", "control characters"),
        ] {
            let e = NicSpec::parse(spec).unwrap_err().to_string();
            assert!(e.contains(why), "{spec:?}: {e}");
            assert!(e.starts_with("--nic '"), "{spec:?}: {e}");
        }
        // A comma in a socket's path is legitimate: QEMU gets it escaped.
        assert!(NicSpec::parse("socket:/tmp/a,b").is_ok());
    }
}
