//! What a chain is made of, derived from its file alone: bridge and device
//! names, MAC and IP addresses, and each hop's definitions. Deterministic,
//! so `up`, `show` and `down` agree without storing more than the file.
//!
//! Link `k` (0..=n for n hops) is one bridge: link 0 joins the left end to
//! hop 0's `in` face, link k joins hop k-1's `out` to hop k's `in`, link n
//! joins hop n-1's `out` to the right end.

use std::net::{IpAddr, Ipv4Addr};

use super::spec::{Chain, EndKind, Hop, Prefix, RESERVED};

/// How the hops run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `mbctl run` of each hop's config in a namespace of the chain, on
    /// veth pairs whose other ends are the bridges' ports.
    Runner,
    /// A middlebox VM per hop (`mbctl boot`), its taps on the bridges.
    Vm,
}

impl Backend {
    /// Parses `runner` or `vm`.
    pub fn parse(s: &str) -> Option<Backend> {
        match s {
            "runner" => Some(Backend::Runner),
            "vm" => Some(Backend::Vm),
            _ => None,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Runner => "runner",
            Backend::Vm => "vm",
        }
    }
}

/// One side of a hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Face {
    /// The bridge it is on.
    pub bridge: String,
    /// The switch's port for it (runner: the root-namespace end of its
    /// veth pair; VM: known once `mbctl boot` made the tap).
    pub port: Option<String>,
    /// What the hop's configuration opens (`$IN_DEV`/`$OUT_DEV`).
    pub dev: String,
    /// Its MAC address.
    pub mac: String,
    /// Its address (ARP queries' or neighbour solicitations' sender, ICMP
    /// errors' source): an IPv6 end's face has an IPv6 one.
    pub ip: IpAddr,
    /// What it answers ARP (or, IPv6, neighbour discovery) for.
    pub arp: Prefix,
}

/// One hop, ready to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HopPlan {
    /// Its name in the chain.
    pub name: String,
    /// The middlebox (VM) name: `<chain>-<hop>`.
    pub vm: String,
    /// Towards the left end.
    pub inp: Face,
    /// Towards the right end.
    pub out: Face,
    /// Every `NAME=VALUE` its configuration gets, contract first (the
    /// hop's own as replica 0's: see [`HopPlan::defines_for`]).
    pub defines: Vec<(String, String)>,
}

impl HopPlan {
    /// What replica `i` of `hop` (this plan's hop) gets: the contract's
    /// definitions, then its own.
    pub fn defines_for(&self, hop: &Hop, i: u32) -> Vec<(String, String)> {
        let mut d: Vec<(String, String)> = self
            .defines
            .iter()
            .filter(|(k, _)| RESERVED.contains(&k.as_str()))
            .cloned()
            .collect();
        d.extend(hop.defines_for(i));
        d
    }
}

/// One namespace host at an end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndHost {
    /// Its namespace.
    pub netns: String,
    /// The root-namespace end of its veth pair (the bridge port).
    pub port: String,
    /// Its interface inside the namespace.
    pub ifname: String,
    /// That interface's address.
    pub address: Prefix,
    /// That interface's MAC address.
    pub mac: String,
}

/// One end, as wired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndPlan {
    /// The bridge the end and its hop face share.
    pub bridge: String,
    /// Whether the chain makes that bridge (not for `bridge =` ends).
    pub own_bridge: bool,
    /// Namespace hosts.
    pub hosts: Vec<EndHost>,
    /// An existing interface to add to the bridge.
    pub iface: Option<String>,
    /// Give the hosts a default route through the gateway.
    pub route: bool,
    /// The gateway (with the side's prefix length).
    pub gateway: Prefix,
}

/// Everything a chain makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The chain's name (also the owner tag of its bridges and rules).
    pub name: String,
    /// How hops run.
    pub backend: Backend,
    /// The runner backend's namespace holding the hops' devices.
    pub netns: String,
    /// Bridges to make, link 0 first.
    pub bridges: Vec<String>,
    /// The left end.
    pub left: EndPlan,
    /// The right end.
    pub right: EndPlan,
    /// The hops, left to right.
    pub hops: Vec<HopPlan>,
}

/// A 16-bit tag of the chain name for its MAC addresses.
fn tag16(name: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    (h ^ (h >> 16)) as u16
}

/// `02:6d:TT:TT:XX:YY`: locally administered, `6d` for mbctl, the chain's
/// tag, then who (hop index, or `e0`/`e1` for the left/right end) and which
/// (face 0 = in, 1 = out; an end host's index).
pub fn mac(chain: &str, who: u8, which: u8) -> String {
    let t = tag16(chain);
    format!(
        "02:6d:{:02x}:{:02x}:{:02x}:{:02x}",
        t >> 8,
        t & 0xff,
        who,
        which
    )
}

const BROADCAST: &str = "ff:ff:ff:ff:ff:ff";

/// Derives the plan of `chain` for `backend`.
pub fn derive(chain: &Chain, backend: Backend) -> Plan {
    let name = &chain.name;
    let n = chain.hops.len();
    let link = |k: usize| format!("{name}-l{k}");
    let end = |e: &super::spec::End, k: usize, who: u8| {
        let (bridge, own) = match &e.kind {
            EndKind::Bridge(b) => (b.clone(), false),
            _ => (link(k), true),
        };
        let hosts = match &e.kind {
            EndKind::Netns(list) => list
                .iter()
                .zip(&e.addresses)
                .enumerate()
                .map(|(j, (ns, a))| EndHost {
                    netns: ns.clone(),
                    port: format!("{name}-{}{j}", if who == 0xe0 { 'a' } else { 'z' }),
                    ifname: e.ifname.clone(),
                    address: *a,
                    mac: mac(name, who, j as u8),
                })
                .collect(),
            _ => Vec::new(),
        };
        EndPlan {
            bridge,
            own_bridge: own,
            hosts,
            iface: match &e.kind {
                EndKind::Iface(i) => Some(i.clone()),
                _ => None,
            },
            route: e.route,
            gateway: e.gateway,
        }
    };
    let left = end(&chain.left, 0, 0xe0);
    let right = end(&chain.right, n, 0xe1);
    let mut bridges = Vec::new();
    for k in 0..=n {
        let b = match k {
            0 => &left,
            k if k == n => &right,
            _ => {
                bridges.push(link(k));
                continue;
            }
        };
        if b.own_bridge && !bridges.contains(&b.bridge) {
            bridges.push(b.bridge.clone());
        }
    }
    let bridge_of = |k: usize| -> String {
        if k == 0 {
            left.bridge.clone()
        } else if k == n {
            right.bridge.clone()
        } else {
            link(k)
        }
    };
    let all = Prefix::parse("0.0.0.0/0", None).expect("constant");
    let inner_ip = |k: usize, last: u8| IpAddr::V4(Ipv4Addr::new(169, 254, k as u8, last));
    let single_mac = |e: &EndPlan| match e.hosts.as_slice() {
        [h] => h.mac.clone(),
        _ => BROADCAST.to_string(),
    };
    let mut hops: Vec<HopPlan> = Vec::new();
    for (i, h) in chain.hops.iter().enumerate() {
        let (in_dev, out_dev, in_port, out_port) = match backend {
            Backend::Runner => (
                format!("h{i}in"),
                format!("h{i}out"),
                Some(format!("{name}-h{i}i")),
                Some(format!("{name}-h{i}o")),
            ),
            Backend::Vm => ("0".into(), "1".into(), None, None),
        };
        let inp = Face {
            bridge: bridge_of(i),
            port: in_port,
            dev: in_dev,
            mac: mac(name, i as u8, 0),
            ip: if i == 0 {
                left.gateway.addr
            } else {
                inner_ip(i, 2)
            },
            arp: if i == 0 {
                Prefix::host(left.gateway.addr)
            } else {
                all
            },
        };
        let out = Face {
            bridge: bridge_of(i + 1),
            port: out_port,
            dev: out_dev,
            mac: mac(name, i as u8, 1),
            ip: if i + 1 == n {
                right.gateway.addr
            } else {
                inner_ip(i + 1, 1)
            },
            arp: if i + 1 == n {
                Prefix::host(right.gateway.addr)
            } else {
                all
            },
        };
        let prev_mac = if i == 0 {
            single_mac(&left)
        } else {
            mac(name, i as u8 - 1, 1)
        };
        let next_mac = if i + 1 == n {
            single_mac(&right)
        } else {
            mac(name, i as u8 + 1, 0)
        };
        let mut defines: Vec<(String, String)> = vec![
            ("IN_DEV".into(), inp.dev.clone()),
            ("OUT_DEV".into(), out.dev.clone()),
            ("IN_MAC".into(), inp.mac.clone()),
            ("OUT_MAC".into(), out.mac.clone()),
            ("IN_IP".into(), inp.ip.to_string()),
            ("OUT_IP".into(), out.ip.to_string()),
            ("IN_ARP".into(), inp.arp.to_string()),
            ("OUT_ARP".into(), out.arp.to_string()),
            ("PREV_MAC".into(), prev_mac),
            ("NEXT_MAC".into(), next_mac),
            ("LEFT_NET".into(), left.gateway.network().to_string()),
            ("RIGHT_NET".into(), right.gateway.network().to_string()),
            ("LEFT_GW".into(), left.gateway.addr.to_string()),
            ("RIGHT_GW".into(), right.gateway.addr.to_string()),
            ("HOP".into(), h.name.clone()),
            ("CHAIN".into(), name.clone()),
        ];
        defines.extend(h.defines_for(0));
        hops.push(HopPlan {
            name: h.name.clone(),
            vm: format!("{name}-{}", h.name),
            inp,
            out,
            defines,
        });
    }
    Plan {
        name: name.clone(),
        backend,
        netns: format!("mbc-{name}"),
        bridges,
        left,
        right,
        hops,
    }
}

impl Plan {
    /// The switch ports on `bridge` once everything is attached (VM taps
    /// only when known).
    pub fn ports_on(&self, bridge: &str) -> Vec<String> {
        let mut v = Vec::new();
        for e in [&self.left, &self.right] {
            if e.bridge == bridge {
                v.extend(e.hosts.iter().map(|h| h.port.clone()));
                v.extend(e.iface.iter().cloned());
            }
        }
        for h in &self.hops {
            for f in [&h.inp, &h.out] {
                if f.bridge == bridge {
                    v.extend(f.port.iter().cloned());
                }
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec;
    use std::path::Path;

    fn chain(hops: usize, right: &str) -> Chain {
        let d = std::env::temp_dir().join(format!("mbctl-plan-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("h.click"), "Idle -> Discard;").unwrap();
        let mut t = format!(
            "name = \"demo\"\n[left]\nnetns = \"cl\"\naddress = \"10.1.0.2/24\"\ngateway = \"10.1.0.1\"\n[right]\n{right}\n"
        );
        for i in 0..hops {
            t.push_str(&format!("[[hop]]\nname = \"h{i}\"\nconfig = \"h.click\"\n"));
        }
        spec::parse(&t, &d.join("c.toml")).unwrap()
    }

    fn def<'a>(h: &'a HopPlan, k: &str) -> &'a str {
        &h.defines.iter().find(|(n, _)| n == k).unwrap().1
    }

    #[test]
    fn three_hops_between_namespaces() {
        let c = chain(
            3,
            "netns = \"sv\"\naddress = \"10.2.0.2/24\"\ngateway = \"10.2.0.1\"",
        );
        let p = derive(&c, Backend::Runner);
        assert_eq!(p.bridges, ["demo-l0", "demo-l1", "demo-l2", "demo-l3"]);
        let [a, b, z] = [&p.hops[0], &p.hops[1], &p.hops[2]];
        // Neighbours see each other's MACs; faces on one link share its bridge.
        assert_eq!(def(b, "PREV_MAC"), def(a, "OUT_MAC"));
        assert_eq!(def(a, "NEXT_MAC"), def(b, "IN_MAC"));
        assert_eq!(a.out.bridge, b.inp.bridge);
        assert_eq!(def(a, "PREV_MAC"), p.left.hosts[0].mac);
        assert_eq!(def(z, "NEXT_MAC"), p.right.hosts[0].mac);
        // The ends' faces answer ARP for the gateways only; inner faces for all.
        assert_eq!(def(a, "IN_IP"), "10.1.0.1");
        assert_eq!(def(a, "IN_ARP"), "10.1.0.1/32");
        assert_eq!(def(z, "OUT_IP"), "10.2.0.1");
        assert_eq!(def(z, "OUT_ARP"), "10.2.0.1/32");
        assert_eq!(def(a, "OUT_ARP"), "0.0.0.0/0");
        assert_eq!(def(b, "IN_IP"), "169.254.1.2");
        assert_eq!(def(a, "OUT_IP"), "169.254.1.1");
        assert_eq!(def(b, "LEFT_NET"), "10.1.0.0/24");
        assert_eq!(def(b, "RIGHT_GW"), "10.2.0.1");
        assert_eq!(def(b, "IN_DEV"), "h1in");
        // Every MAC differs and is locally administered unicast.
        let mut macs: Vec<&str> = p
            .hops
            .iter()
            .flat_map(|h| [h.inp.mac.as_str(), h.out.mac.as_str()])
            .collect();
        macs.push(&p.left.hosts[0].mac);
        macs.push(&p.right.hosts[0].mac);
        let n = macs.len();
        macs.sort();
        macs.dedup();
        assert_eq!(macs.len(), n);
        assert!(macs.iter().all(|m| m.starts_with("02:6d:")));
        // Every device name fits Linux's limit.
        for b in &p.bridges {
            mb_ovs::netdev::check_ifname(b).unwrap();
        }
        for h in &p.hops {
            mb_ovs::netdev::check_ifname(h.inp.port.as_deref().unwrap()).unwrap();
        }
        assert_eq!(p.ports_on("demo-l1"), ["demo-h0o", "demo-h1i"]);
        assert_eq!(p.ports_on("demo-l0"), ["demo-a0", "demo-h0i"]);
    }

    #[test]
    fn existing_bridge_end_and_vm_backend() {
        let c = chain(1, "bridge = \"lan0\"\ngateway = \"10.2.0.1/16\"");
        let p = derive(&c, Backend::Vm);
        assert_eq!(p.bridges, ["demo-l0"]);
        assert!(!p.right.own_bridge);
        let h = &p.hops[0];
        assert_eq!(h.out.bridge, "lan0");
        assert_eq!((def(h, "IN_DEV"), def(h, "OUT_DEV")), ("0", "1"));
        assert_eq!(def(h, "NEXT_MAC"), BROADCAST);
        assert_eq!(def(h, "RIGHT_NET"), "10.2.0.0/16");
        assert_eq!(h.vm, "demo-h0");
        assert!(h.inp.port.is_none());
        let _ = Path::new(".");
    }

    #[test]
    fn an_ipv6_end_gets_ipv6_faces() {
        let d = std::env::temp_dir().join(format!("mbctl-plan6-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("h.click"), "Idle -> Discard;").unwrap();
        let t = "name = \"six\"\n[left]\nnetns = \"cl\"\naddress = \"fd64::2/64\"\ngateway = \"fd64::1\"\n[right]\nnetns = \"sv\"\naddress = \"10.2.0.2/24\"\ngateway = \"10.2.0.1\"\n[[hop]]\nname = \"x\"\nconfig = \"h.click\"\n";
        let c = spec::parse(t, &d.join("c.toml")).unwrap();
        let p = derive(&c, Backend::Vm);
        let h = &p.hops[0];
        assert_eq!(def(h, "IN_IP"), "fd64::1");
        assert_eq!(def(h, "IN_ARP"), "fd64::1/128");
        assert_eq!(def(h, "LEFT_NET"), "fd64::/64");
        assert_eq!(def(h, "LEFT_GW"), "fd64::1");
        assert_eq!(def(h, "OUT_ARP"), "10.2.0.1/32");
        assert_eq!(p.left.hosts[0].address.to_string(), "fd64::2/64");
    }

    #[test]
    fn macs_differ_between_chains() {
        assert_ne!(mac("a", 0, 0), mac("b", 0, 0));
        assert_eq!(mac("a", 3, 1).len(), 17);
    }
}
