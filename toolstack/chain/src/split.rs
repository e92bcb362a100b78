//! The Open vSwitch rules that spread a replicated hop's traffic over its
//! replicas, on each of the two bridges its faces are on.
//!
//! On a bridge, the *others* are the chain's neighbour ports (an end's
//! hosts, or another hop), the *replicas* the hop's faces there:
//!
//! - table 0: from an other, ARP and anything not IP goes to every port
//!   but its own (the replicas, which answer ARP alike as they share the
//!   hop's MACs, and the other others); IP goes to table 2. From any
//!   other port, a replica's, IP first `learn`s the reverse of its flow
//!   into table 2 (so the flow's other direction comes back to this
//!   replica), then goes to table 3, which delivers to the others by MAC.
//!   A failed replica's port is fenced off (dropped) until it is gone.
//! - table 2: learned reverse entries (idle times [`TCP_IDLE`] and
//!   [`DATAGRAM_IDLE`]; [`TCP_CLOSING_IDLE`] after FIN or RST), and above
//!   them the flows whose state `mbctl state move` moved to another
//!   replica ([`reroute`]); a miss goes on to table 1.
//! - table 1: learned forward entries; a miss goes to the select group
//!   (hashing on the split's fields), whose buckets are the *serving*
//!   replicas. A bucket puts its replica's port in reg1 and goes to table
//!   4, which `learn`s the flow's entry into table 1 and outputs, so a flow
//!   stays with its replica when buckets change: only new flows go to new
//!   replicas, and a draining replica keeps its flows.
//!
//! No rule but the groups' buckets names a replica's port, so the
//! controller's changes are small: one atomic bundle per bridge of group
//! buckets, fences and forgotten entries ([`Write::Groups`]).

use crate::error::Result;
use mb_ovs::{Change, Ovs};

use super::replica::Split;
use super::replica::{HopState, Port, RState, Replica, Side};

/// How long an idle TCP connection keeps its replica: a NAT replica
/// keeps its mapping far longer (IPRewriter: 24 h), but a switch entry
/// per connection for a day is too much; 5 min is what NAT gateways
/// commonly allow an idle connection.
pub const TCP_IDLE: u32 = 300;
/// A TCP entry's idle time once its flow sent FIN or RST; also that of
/// a TCP forward entry, which only carries a connection until its
/// reply's reverse entry takes over.
pub const TCP_CLOSING_IDLE: u32 = 15;
/// How long an idle UDP or other IP flow keeps its replica (as Linux's
/// conntrack keeps an unanswered UDP flow).
pub const DATAGRAM_IDLE: u32 = 30;

/// The cookie of learned entries (static rules carry the chain's own).
pub fn learned_cookie(chain: &str) -> u64 {
    mb_ovs::cookie_of(&format!("{chain}/learned"))
}

/// The cookie of the rules that fence failed replicas off.
fn fence_cookie(chain: &str) -> u64 {
    mb_ovs::cookie_of(&format!("{chain}/fenced"))
}

/// Select groups on a bridge: all IP (src-ip, dst-ip splits), or per
/// protocol (5-tuple).
const GROUP_IP: u32 = 1;
const GROUP_TCP: u32 = 2;
const GROUP_UDP: u32 = 3;

/// A protocol class a split treats apart.
struct Class {
    /// What its packets match.
    matches: &'static str,
    /// Its select group.
    group: u32,
    /// The fields the group hashes.
    fields: &'static str,
    /// The learned forward entry's key and idle time.
    fwd: String,
    fwd_idle: u32,
    /// The learned reverse entry's key and idle time.
    rev: String,
    rev_idle: u32,
    /// Idle time of its entries once FIN or RST is seen (TCP).
    closing: Option<u32>,
}

impl Class {
    /// A `learn` of `key` into `table`, idle `idle`, output to `out`.
    fn learn(&self, table: u8, key: &str, idle: u32, cookie: u64, out: &str) -> String {
        let closing = self
            .closing
            .map_or(String::new(), |t| format!("fin_idle_timeout={t},"));
        format!(
            "learn(table={table},idle_timeout={idle},{closing}priority=10,cookie={cookie:#x},{key},output:{out})"
        )
    }

    /// How far its rules rank above plain `ip`'s: `ip` is what the
    /// protocol classes (if any) leave over. Rules of equal priority that
    /// overlap match in an order OpenFlow leaves open, and Open vSwitch
    /// picks `ip`'s: TCP flows then learned their reverse by addresses
    /// alone, so a client's every connection followed its first one's
    /// replica.
    fn above_ip(&self) -> u16 {
        u16::from(self.matches != "ip")
    }
}

/// The classes of `split`.
fn classes(split: Split) -> Vec<Class> {
    let pair_rev = "NXM_OF_IP_SRC[]=NXM_OF_IP_DST[],NXM_OF_IP_DST[]=NXM_OF_IP_SRC[]";
    // All IP in one class carries TCP too: TCP's idle time.
    let all_ip = |fwd: &str, fields| Class {
        matches: "ip",
        group: GROUP_IP,
        fields,
        fwd: format!("eth_type=0x800,{fwd}"),
        fwd_idle: TCP_IDLE,
        rev: format!("eth_type=0x800,{pair_rev}"),
        rev_idle: TCP_IDLE,
        closing: None,
    };
    match split {
        Split::SrcIp => vec![all_ip("NXM_OF_IP_SRC[]", "ip_src")],
        Split::DstIp => vec![all_ip("NXM_OF_IP_DST[]", "ip_dst")],
        Split::FiveTuple => {
            let l4 = |p: &'static str, proto: u8, group, fields, idle: (u32, u32), closing| {
                let up = p.to_uppercase();
                Class {
                    matches: p,
                    group,
                    fields,
                    fwd: format!(
                        "eth_type=0x800,nw_proto={proto},NXM_OF_IP_SRC[],NXM_OF_IP_DST[],NXM_OF_{up}_SRC[],NXM_OF_{up}_DST[]"
                    ),
                    fwd_idle: idle.0,
                    rev: format!(
                        "eth_type=0x800,nw_proto={proto},{pair_rev},NXM_OF_{up}_SRC[]=NXM_OF_{up}_DST[],NXM_OF_{up}_DST[]=NXM_OF_{up}_SRC[]"
                    ),
                    rev_idle: idle.1,
                    closing,
                }
            };
            vec![
                l4(
                    "tcp",
                    6,
                    GROUP_TCP,
                    "ip_src,ip_dst,tcp_src,tcp_dst",
                    (TCP_CLOSING_IDLE, TCP_IDLE),
                    Some(TCP_CLOSING_IDLE),
                ),
                l4(
                    "udp",
                    17,
                    GROUP_UDP,
                    "ip_src,ip_dst,udp_src,udp_dst",
                    (DATAGRAM_IDLE, DATAGRAM_IDLE),
                    None,
                ),
                Class {
                    matches: "ip",
                    group: GROUP_IP,
                    fields: "ip_src,ip_dst",
                    fwd: "eth_type=0x800,NXM_OF_IP_SRC[],NXM_OF_IP_DST[],NXM_OF_IP_PROTO[]".into(),
                    fwd_idle: DATAGRAM_IDLE,
                    rev: format!("eth_type=0x800,{pair_rev},NXM_OF_IP_PROTO[]"),
                    rev_idle: DATAGRAM_IDLE,
                    closing: None,
                },
            ]
        }
    }
}

/// Which face of its replicas a side holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The replicas' `in` faces (the hop's left bridge).
    Left,
    /// The replicas' `out` faces (the hop's right bridge).
    Right,
}

impl Which {
    /// Replica `r`'s face on this side, once wired.
    fn face(self, r: &Replica) -> Option<&Port> {
        match self {
            Which::Left => r.inp.as_ref(),
            Which::Right => r.out.as_ref(),
        }
    }
}

/// How much of a side's rules a bundle writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// Everything, the groups new: at `chain up`.
    Create,
    /// Everything, over what is there: a controller taking a hop over
    /// rewrites what an older one left.
    All,
    /// Only what replicas coming, going and failing change: the groups'
    /// buckets, failed replicas' fences and learned entries. The rest
    /// names no replica's port, so a new replica needs no rule before
    /// its bucket: promoting or adding one is one small bundle.
    Groups,
}

/// The bundle that sets a side's groups and rules to what `h` says.
/// `forget`: ports whose learned entries go (failed replicas': their
/// flows move to others).
pub fn mods(h: &HopState, which: Which, write: Write, forget: &[u32]) -> Vec<Change> {
    let side: &Side = match which {
        Which::Left => &h.left,
        Which::Right => &h.right,
    };
    let ports = |state: RState| -> Vec<u32> {
        h.replicas
            .iter()
            .filter(|r| r.state == state)
            .filter_map(|r| which.face(r).map(|p| p.ofport))
            .collect()
    };
    let owner = mb_ovs::cookie_of(&h.chain);
    let learned = learned_cookie(&h.chain);
    let fenced = fence_cookie(&h.chain);
    let classes = classes(h.policy.split);
    let mut m = Vec::new();
    for c in &classes {
        m.push(Change::SelectGroup {
            create: write == Write::Create,
            id: c.group,
            fields: c.fields,
            buckets: ports(RState::Running),
            then: 4,
        });
    }
    let moved = moved_cookie(&h.chain);
    for &p in forget {
        for cookie in [learned, moved] {
            m.push(Change::DeleteFlows {
                cookie,
                out_port: Some(p),
            });
        }
    }
    // A failed replica that still sends would pull its flows back.
    m.push(Change::DeleteFlows {
        cookie: fenced,
        out_port: None,
    });
    for in_port in ports(RState::Failed) {
        m.push(Change::Drop {
            cookie: fenced,
            table: 0,
            priority: 50,
            in_port,
        });
    }
    if write != Write::Groups {
        m.push(Change::DeleteFlows {
            cookie: owner,
            out_port: None,
        });
        m.extend(
            statics(side, &classes, learned)
                .into_iter()
                .map(|f| Change::Text(format!("flow add cookie={owner:#x},{f}"))),
        );
    }
    m
}

/// The rules of a side that no replica change touches: every port that
/// is not an other is a replica's (the bridge is the link's alone).
fn statics(side: &Side, classes: &[Class], learned: u64) -> Vec<String> {
    let mut m = vec!["table=0,priority=50,in_port=LOCAL,actions=drop".to_string()];
    for o in &side.others {
        for o2 in side.others.iter().filter(|o2| o2.ofport != o.ofport) {
            if let Some(mac) = &o2.mac {
                m.push(format!(
                    "table=0,priority=40,in_port={},dl_dst={mac},actions=output:{}",
                    o.ofport, o2.ofport
                ));
            }
        }
        // ARP and the rest to every replica (warm ones learn their
        // neighbours from it) and the other others.
        m.push(format!(
            "table=0,priority=10,in_port={},actions=ALL",
            o.ofport
        ));
        m.push(format!(
            "table=0,priority=20,in_port={},ip,actions=resubmit(,2)",
            o.ofport
        ));
    }
    for c in classes {
        m.push(format!(
            "table=0,priority={},{},actions={},resubmit(,3)",
            5 + c.above_ip(),
            c.matches,
            c.learn(2, &c.rev, c.rev_idle, learned, "NXM_OF_IN_PORT[]")
        ));
    }
    m.push("table=0,priority=1,actions=resubmit(,3)".into());
    m.push("table=2,priority=0,actions=resubmit(,1)".into());
    // The switch does not run `learn` inside a group's bucket, so a bucket
    // names its replica in reg1 and table 4 learns and outputs.
    for c in classes {
        let (prio, class) = (c.above_ip(), c.matches);
        let reg = "NXM_NX_REG1[0..15]";
        m.push(format!(
            "table=4,priority={prio},{class},actions={},output:{reg}",
            c.learn(1, &c.fwd, c.fwd_idle, learned, reg)
        ));
        m.push(format!(
            "table=1,priority={prio},{class},actions=group:{}",
            c.group
        ));
    }
    for o in &side.others {
        if let Some(mac) = &o.mac {
            m.push(format!(
                "table=3,priority=10,dl_dst={mac},actions=output:{}",
                o.ofport
            ));
        }
    }
    let all: Vec<String> = side
        .others
        .iter()
        .map(|p| format!("output:{}", p.ofport))
        .collect();
    let all = if all.is_empty() {
        "drop".to_string()
    } else {
        all.join(",")
    };
    m.push(format!("table=3,priority=0,actions={all}"));
    m
}

/// Sets both of `h`'s bridges to what it says (see [`mods`]), the two
/// at once.
pub fn apply(ovs: &Ovs, h: &HopState, write: Write, forget: &[&Replica]) -> Result<()> {
    let bundle = |side: &Side, which: Which| {
        let ports: Vec<u32> = forget
            .iter()
            .filter_map(|r| which.face(r).map(|p| p.ofport))
            .collect();
        ovs.bundle(&side.bridge, &mods(h, which, write, &ports))
    };
    let (left, right) = std::thread::scope(|s| {
        let left = s.spawn(|| bundle(&h.left, Which::Left));
        let right = bundle(&h.right, Which::Right);
        (left.join().expect("no panic"), right)
    });
    left?;
    right?;
    Ok(())
}

/// The cookie of rules that send moved flows to their new replica.
pub fn moved_cookie(chain: &str) -> u64 {
    mb_ovs::cookie_of(&format!("{chain}/moved"))
}

/// An address and port.
pub type Endpoint = ([u8; 4], u16);

/// A flow whose state moved to another replica: its packets as they
/// reach the hop, `fwd` one way and `rev` the other (for a NAT mapping,
/// the client's packets and the server's replies to the public address
/// and port, which stay the source replica's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moved {
    /// IP protocol (6 or 17: OpenFlow matches no other's ports).
    pub proto: u8,
    /// (source, destination) of one direction's packets.
    pub fwd: (Endpoint, Endpoint),
    /// (source, destination) of the other's.
    pub rev: (Endpoint, Endpoint),
}

/// The flows of a rewriter's moved chunks (none of other classes',
/// whose flows no switch rule follows).
pub fn moved(c: &click::state::Chunks) -> Result<Vec<Moved>> {
    use click::elements::nat::export::FlowRecord;
    if !matches!(
        c.class.as_str(),
        "IPRewriter" | "TCPRewriter" | "UDPRewriter" | "ICMPPingRewriter" | "IPAddrRewriter"
    ) || c.flows.is_empty()
    {
        return Ok(Vec::new());
    }
    let v: Vec<FlowRecord> = click::state::decode(&c.class, c.version, &c.flows)
        .map_err(|e| crate::error::Error::Invalid(format!("moved {} state: {e}", c.class)))?;
    Ok(v.into_iter()
        .map(|r| {
            let (f, w) = (r.flow, r.rewritten);
            Moved {
                proto: r.proto,
                fwd: ((f.0, f.1), (f.2, f.3)),
                rev: ((w.2, w.3), (w.0, w.1)),
            }
        })
        .collect())
}

/// The rules of one bridge sending `flows` to `port`: in table 2, above
/// the learned entries (priority 10) so neither direction's entry for
/// the old replica wins, with the learned entries' idle times (a TCP
/// flow's shortened after FIN or RST). The bridge is the link's alone,
/// so each direction's match is on both bridges: a flow's packets enter
/// the hop on one side and replies on the other, whichever it is.
pub fn moved_mods(chain: &str, flows: &[Moved], port: u32) -> Vec<Change> {
    let cookie = moved_cookie(chain);
    let ip = |a: [u8; 4]| std::net::Ipv4Addr::from(a).to_string();
    let mut m = Vec::new();
    for f in flows {
        let (class, idle, fin) = match f.proto {
            6 => (
                "tcp",
                TCP_IDLE,
                format!("fin_timeout(idle_timeout={TCP_CLOSING_IDLE}),"),
            ),
            17 => ("udp", DATAGRAM_IDLE, String::new()),
            _ => continue,
        };
        let mut dirs = vec![f.fwd];
        if f.rev != f.fwd {
            dirs.push(f.rev);
        }
        for ((s, sp), (d, dp)) in dirs {
            m.push(Change::Text(format!(
                "flow add cookie={cookie:#x},table=2,priority=20,idle_timeout={idle},{class},nw_src={},tp_src={sp},nw_dst={},tp_dst={dp},actions={fin}output:{port}",
                ip(s),
                ip(d)
            )));
        }
    }
    m
}

/// Sends `flows` to replica `dst` on both of `h`'s bridges, one atomic
/// bundle each, the two at once.
pub fn reroute(ovs: &Ovs, h: &HopState, dst: &Replica, flows: &[Moved]) -> Result<()> {
    let (Some(inp), Some(out)) = (&dst.inp, &dst.out) else {
        return Err(crate::error::Error::Invalid(format!(
            "'{}' is not wired to the switch",
            dst.vm
        )));
    };
    let (lm, rm) = (
        moved_mods(&h.chain, flows, inp.ofport),
        moved_mods(&h.chain, flows, out.ofport),
    );
    if lm.is_empty() {
        return Ok(());
    }
    let (left, right) = std::thread::scope(|s| {
        let left = s.spawn(|| ovs.bundle(&h.left.bridge, &lm));
        let right = ovs.bundle(&h.right.bridge, &rm);
        (left.join().expect("no panic"), right)
    });
    left?;
    right?;
    Ok(())
}

/// How many learned entries on `h`'s bridges still send flows to
/// replica `r` (a draining replica is removed when none do).
pub fn flows_of(ovs: &Ovs, h: &HopState, r: &Replica) -> Result<usize> {
    let c = learned_cookie(&h.chain);
    let mut n = 0;
    for (side, port) in [(&h.left, &r.inp), (&h.right, &r.out)] {
        if let Some(p) = port {
            for t in [1, 2] {
                n += ovs.flows_to(&side.bridge, c, t, p.ofport)?.len();
            }
        }
    }
    Ok(n)
}

/// Whether replica `r` has forwarded an IP packet to the right: its
/// reverse entry is learned there.
pub fn forwarded(ovs: &Ovs, h: &HopState, r: &Replica) -> Result<bool> {
    let Some(p) = &r.out else { return Ok(false) };
    Ok(!ovs
        .flows_to(&h.right.bridge, learned_cookie(&h.chain), 2, p.ofport)?
        .is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replica::Counters;
    use crate::replica::Policy;

    fn port(dev: &str, o: u32, mac: Option<&str>) -> Port {
        Port {
            dev: dev.into(),
            ofport: o,
            mac: mac.map(str::to_string),
        }
    }

    fn hop(split: Split) -> HopState {
        let rep = |n: u32, state: RState| Replica {
            n,
            vm: format!("c-nat-{n}"),
            state,
            goal: state,
            inp: Some(port("ti", 10 + n, None)),
            out: Some(port("to", 20 + n, None)),
            domid: Some(n),
            pid: None,
            since_ms: 0,
            metric: None,
        };
        HopState {
            chain: "c".into(),
            hop: "nat".into(),
            index: 0,
            policy: Policy {
                min: 1,
                max: 4,
                interval_ms: 100,
                misses: 3,
                scale: None,
                split,
            },
            config: "/x".into(),
            defines: vec![],
            memory: None,
            ovs_rundir: "/r".into(),
            ovs_private: true,
            left: Side {
                bridge: "c-l0".into(),
                others: vec![
                    port("c-a0", 1, Some("02:00:00:00:00:01")),
                    port("c-a1", 2, Some("02:00:00:00:00:02")),
                ],
            },
            right: Side {
                bridge: "c-l1".into(),
                others: vec![port("c-z0", 3, None)],
            },
            replicas: vec![
                rep(0, RState::Running),
                rep(1, RState::Warm),
                rep(2, RState::Draining),
            ],
            target: 1,
            last_scale_ms: 0,
            counters: Counters::default(),
        }
    }

    fn text(m: Vec<Change>) -> Vec<String> {
        m.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn only_serving_replicas_are_buckets_and_no_rule_names_a_replica() {
        let mut h = hop(Split::SrcIp);
        h.replicas.push(Replica {
            state: RState::Failed,
            ..h.replicas[0].clone()
        });
        h.replicas[3].inp = Some(port("ti", 13, None));
        let m = text(mods(&h, Which::Left, Write::Create, &[]));
        let group = &m[0];
        assert!(
            group.starts_with(
                "group add group_id=1,type=select,selection_method=hash,fields(ip_src)"
            ),
            "{group}"
        );
        assert!(
            group.contains("bucket_id:10")
                && !group.contains("bucket_id:11")
                && !group.contains("bucket_id:12"),
            "{group}"
        );
        assert!(group.contains("resubmit(,4)"), "{group}");
        assert!(
            m.iter().any(|l| l
                .contains("table=4,priority=0,ip,actions=learn(table=1,idle_timeout=300,priority")),
            "{m:?}"
        );
        let arp = m
            .iter()
            .find(|l| l.contains("priority=10,in_port=1,"))
            .unwrap();
        assert!(arp.ends_with("actions=ALL"), "{arp}");
        assert!(
            m.iter()
                .any(|l| l.contains("table=0,priority=5,ip,actions=learn(table=2")),
            "{m:?}"
        );
        assert!(m
            .iter()
            .any(|l| l.contains("table=3,priority=10,dl_dst=02:00:00:00:00:02,actions=output:2")));
        // The failed replica is fenced off; no other rule names a replica.
        assert!(
            m.iter()
                .any(|l| l.ends_with("table=0,priority=50,in_port=13,actions=drop")),
            "{m:?}"
        );
        for p in 10..13 {
            assert!(
                !m.iter()
                    .any(|l| l.contains(&format!("in_port={p},"))
                        || l.contains(&format!("output:{p}"))),
                "{m:?}"
            );
        }
        // A replica change writes groups, fences and forgotten entries.
        let r = text(mods(&hop(Split::SrcIp), Which::Right, Write::Groups, &[22]));
        assert!(
            r[0].starts_with("group modify") && r[0].contains("bucket_id:20,"),
            "{}",
            r[0]
        );
        assert!(r
            .iter()
            .any(|l| l.starts_with("flow delete") && l.ends_with("out_port=22")));
        assert!(
            r.iter().all(|l| l.starts_with("group")
                || l.starts_with("flow delete")
                || l.contains("actions=drop")),
            "{r:?}"
        );
        // ... all of which the kept OpenFlow connection carries.
        assert!(
            mods(&hop(Split::FiveTuple), Which::Left, Write::Groups, &[22])
                .iter()
                .all(|c| c.encode(1).is_some())
        );
        let all = text(mods(&hop(Split::SrcIp), Which::Right, Write::All, &[]));
        assert!(all[0].starts_with("group modify"), "{}", all[0]);
        assert!(all
            .iter()
            .any(|l| l.ends_with("table=3,priority=0,actions=output:3")));
    }

    #[test]
    fn moved_flows_go_to_their_replica_both_ways() {
        let nat = Moved {
            proto: 6,
            fwd: (([10, 0, 1, 11], 40000), ([10, 0, 2, 2], 80)),
            rev: (([10, 0, 2, 2], 80), ([10, 0, 2, 10], 1024)),
        };
        let icmp = Moved { proto: 1, ..nat };
        let udp = Moved {
            proto: 17,
            rev: nat.fwd,
            ..nat
        };
        let m = text(moved_mods("c", &[nat, icmp, udp], 7));
        let c = moved_cookie("c");
        assert_eq!(
            m,
            [
                format!("flow add cookie={c:#x},table=2,priority=20,idle_timeout=300,tcp,nw_src=10.0.1.11,tp_src=40000,nw_dst=10.0.2.2,tp_dst=80,actions=fin_timeout(idle_timeout=15),output:7"),
                format!("flow add cookie={c:#x},table=2,priority=20,idle_timeout=300,tcp,nw_src=10.0.2.2,tp_src=80,nw_dst=10.0.2.10,tp_dst=1024,actions=fin_timeout(idle_timeout=15),output:7"),
                format!("flow add cookie={c:#x},table=2,priority=20,idle_timeout=30,udp,nw_src=10.0.1.11,tp_src=40000,nw_dst=10.0.2.2,tp_dst=80,actions=output:7"),
            ]
        );
        // A NAT's moved mapping: the client's packets, and the server's
        // replies to the public address and port.
        let (r, _) = click::testing::router_from_source(
            "Idle -> rw :: IPRewriter(pattern 10.0.2.10 1024-1024 - - 0 0) -> Discard;",
        );
        let mut syn = vec![0u8; 40];
        syn[0] = 0x45;
        syn[9] = 6;
        syn[12..16].copy_from_slice(&[10, 0, 1, 11]);
        syn[16..20].copy_from_slice(&[10, 0, 2, 2]);
        syn[20..22].copy_from_slice(&40000u16.to_be_bytes());
        syn[23] = 80;
        syn[32] = 5 << 4;
        syn[33] = 2;
        r.inject(
            r.find("rw").unwrap(),
            0,
            click::packet::Packet::from_slice(&syn),
        );
        let Ok(click::state::channel::Reply::Chunks(b)) = click::state::channel::serve(
            &r,
            click::state::channel::Request::Get {
                element: "rw".into(),
                filter: "-".into(),
                parts: click::state::Parts::FLOWS,
            },
        ) else {
            panic!("no chunks")
        };
        let chunks = click::state::Chunks::from_bytes(&b).unwrap();
        assert_eq!(moved(&chunks).unwrap(), [nat]);

        // A failed replica's moved flows are forgotten with its learned ones.
        let r = text(mods(&hop(Split::SrcIp), Which::Left, Write::Groups, &[12]));
        assert!(
            r.contains(&format!("flow delete cookie={c:#x}/-1,out_port=12")),
            "{r:?}"
        );
    }

    #[test]
    fn five_tuple_splits_by_protocol() {
        let m = text(mods(
            &hop(Split::FiveTuple),
            Which::Left,
            Write::Create,
            &[],
        ));
        assert!(
            m[0].contains("group_id=2") && m[0].contains("tcp_src"),
            "{}",
            m[0]
        );
        assert!(
            m[1].contains("group_id=3") && m[1].contains("udp_src"),
            "{}",
            m[1]
        );
        assert!(m
            .iter()
            .any(|l| l.contains("table=1,priority=1,tcp,actions=group:2")));
        assert!(m
            .iter()
            .any(|l| l.contains("NXM_OF_UDP_SRC[]=NXM_OF_UDP_DST[]")));
        // A replica's TCP and UDP learn their reverse by ports, not only
        // by addresses: their rules rank above plain `ip`'s. An idle TCP
        // connection keeps its replica for minutes, until FIN or RST.
        for (class, prio, idle) in [
            ("tcp", 6, "idle_timeout=300,fin_idle_timeout=15,"),
            ("udp", 6, "idle_timeout=30,priority"),
            ("ip", 5, "idle_timeout=30,priority"),
        ] {
            let l = format!("table=0,priority={prio},{class},actions=learn(table=2,{idle}");
            assert!(m.iter().any(|x| x.contains(&l)), "{l}: {m:?}");
        }
        assert!(m.iter().any(|l| l.contains(
            "table=4,priority=1,tcp,actions=learn(table=1,idle_timeout=15,fin_idle_timeout=15,"
        )));
    }
}
