//! Packet capture behind `mbctl capture`: frames crossing a host interface
//! (a middlebox NIC's tap or vif), read with an AF_PACKET socket
//! ([`mb_runner::device::PacketSocket`]) and written as a pcap file
//! ([`mb_runner::pcap`]'s format, which tcpdump and Wireshark read).
//!
//! A [`Filter`] is an IPClassifier expression compiled by the engine's
//! classifier, so a capture filter and a middlebox's rules are one language.
#![warn(missing_docs)]

use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use click::elements::classify::ipclassifier::ip_classifier;
use click::elements::classify::ipfilter::IPFilter;
use click::Packet;
use mb_runner::device::PacketSocket;
use mb_runner::pcap;

/// Bytes kept of each frame when no snap length is given (tcpdump's).
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// pcap link type of Ethernet.
const LINKTYPE_ETHERNET: u32 = 1;
/// How often a waiting capture looks at its stop condition.
const TICK: Duration = Duration::from_millis(100);

/// A compiled capture filter: frames it matches are kept.
pub struct Filter {
    prog: IPFilter,
}

impl Filter {
    /// Compiles an IPClassifier expression (`icmp`, `tcp dst port 80`,
    /// `src host 10.0.0.1 and not udp`, `ip6 and icmp6 type echo`,
    /// `src net fd00::/8`, ...).
    pub fn compile(expr: &str) -> Result<Filter, String> {
        let prog =
            ip_classifier(&[expr.to_string()], 1).map_err(|e| format!("filter '{expr}': {e}"))?;
        Ok(Filter { prog })
    }

    /// Whether an Ethernet frame matches. The frame is annotated as Click's
    /// `Strip(14) -> CheckIPHeader` (or, IPv6, `MarkIP6Header`) would
    /// leave it (one 802.1Q tag is skipped), so IP tests see its IP
    /// header; non-IP frames fail them.
    pub fn matches(&self, frame: &[u8]) -> bool {
        let mut p = Packet::from_slice(frame);
        p.set_mac_header(0);
        if let Some((off, hlen)) = ip_header(frame) {
            p.set_ip_header(off, hlen);
        }
        self.prog.classify(&p) == Some(0)
    }
}

/// Where an Ethernet frame's IP header is and how long it is, if it
/// carries a plausible IPv4 or IPv6 one (IPv6: the fixed 40 bytes, as
/// `MarkIP6Header` annotates it; the classifier's IPv6 transport tests
/// read right after them).
fn ip_header(frame: &[u8]) -> Option<(usize, usize)> {
    let mut off = 12;
    let mut ty = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    if ty == 0x8100 {
        off += 4;
        ty = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    }
    let ip = off + 2;
    let first = *frame.get(ip)?;
    let hlen = match (ty, first >> 4) {
        (0x0800, 4) => usize::from(first & 0x0f) * 4,
        (0x86dd, 6) => 40,
        _ => return None,
    };
    (hlen >= 20 && frame.len() >= ip + hlen).then_some((ip, hlen))
}

/// What to capture.
#[derive(Default)]
pub struct Options {
    /// Stop after this many frames written.
    pub count: Option<u64>,
    /// Bytes kept of each frame (0: [`DEFAULT_SNAPLEN`]).
    pub snaplen: u32,
    /// Keep only matching frames.
    pub filter: Option<Filter>,
    /// Flush after every frame (a pipe to `tcpdump -r -` sees each at once).
    pub flush_each: bool,
}

/// What a capture did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Frames written.
    pub captured: u64,
    /// Frames seen (written or filtered out).
    pub seen: u64,
    /// Frames the kernel dropped because the capture fell behind.
    pub dropped: u64,
}

/// Opens a capture socket on host interface `ifname`: both directions,
/// without promiscuous mode (a tap or vif passes every frame anyway).
pub fn open(ifname: &str) -> io::Result<PacketSocket> {
    PacketSocket::open(ifname, false, false)
}

/// Writes the pcap file header, then each frame `sock` receives that
/// passes the filter, until `opts.count` frames are written or `stop`
/// returns true (it is asked at least every 100 ms).
pub fn capture(
    sock: &PacketSocket,
    opts: &Options,
    out: &mut dyn Write,
    stop: &dyn Fn() -> bool,
) -> io::Result<Summary> {
    let snaplen = if opts.snaplen == 0 {
        DEFAULT_SNAPLEN
    } else {
        opts.snaplen
    };
    out.write_all(&pcap::file_header(true, snaplen, LINKTYPE_ETHERNET))?;
    out.flush()?;
    let mut buf = vec![0u8; snaplen.max(64) as usize];
    let mut s = Summary::default();
    while opts.count.is_none_or(|c| s.captured < c) && !stop() {
        let Some((len, _outgoing)) = sock.recv(&mut buf)? else {
            wait_readable(sock)?;
            continue;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        s.seen += 1;
        let caplen = len.min(buf.len());
        let frame = &buf[..caplen];
        if opts.filter.as_ref().is_some_and(|f| !f.matches(frame)) {
            continue;
        }
        out.write_all(&pcap::record_header(
            now.as_secs() as u32,
            now.subsec_nanos(),
            caplen as u32,
            len as u32,
        ))?;
        out.write_all(frame)?;
        if opts.flush_each {
            out.flush()?;
        }
        s.captured += 1;
    }
    out.flush()?;
    s.dropped = sock.drops();
    Ok(s)
}

/// Sleeps until a frame is waiting, a signal arrives, or [`TICK`] passes.
fn wait_readable(sock: &PacketSocket) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd: sock.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one live pollfd, count 1.
    let r = unsafe { libc::poll(&mut pfd, 1, TICK.as_millis() as libc::c_int) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet frame carrying an IPv4 packet of protocol `proto`.
    fn ipv4(proto: u8, vlan: bool) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        if vlan {
            f.extend([0x81, 0x00, 0x00, 0x07]);
        }
        f.extend([0x08, 0x00]);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&28u16.to_be_bytes());
        ip[8] = 64;
        ip[9] = proto;
        ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
        ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
        f.extend(ip);
        f.extend([8, 0, 0, 0, 0, 1, 0, 1]);
        f
    }

    /// An Ethernet frame carrying an IPv6 packet from fd00::1 to fd00::2
    /// whose next header is `nxt`, with 8 bytes of payload (`first` is
    /// its first byte: an ICMPv6 type, or the source port's high byte;
    /// a destination port, 80).
    fn ipv6(nxt: u8, first: u8) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd];
        let mut ip = [0u8; 40];
        ip[0] = 0x60;
        ip[4..6].copy_from_slice(&8u16.to_be_bytes());
        ip[6] = nxt;
        ip[7] = 64;
        ip[8] = 0xfd;
        ip[23] = 1;
        ip[24] = 0xfd;
        ip[39] = 2;
        f.extend(ip);
        f.extend([first, 0, 0, 80, 0, 8, 0, 0]);
        f
    }

    fn arp() -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend([2, 0, 0, 0, 0, 1, 0x08, 0x06]);
        f.extend([0u8; 28]);
        f
    }

    #[test]
    fn filters_speak_ipclassifier() {
        let icmp = Filter::compile("icmp").unwrap();
        assert!(icmp.matches(&ipv4(1, false)));
        assert!(icmp.matches(&ipv4(1, true)), "one VLAN tag is skipped");
        assert!(!icmp.matches(&ipv4(17, false)));
        assert!(!icmp.matches(&arp()));
        let not_icmp = Filter::compile("not icmp").unwrap();
        assert!(not_icmp.matches(&ipv4(6, false)));
        assert!(!not_icmp.matches(&ipv4(1, false)));
        let host = Filter::compile("src host 10.0.0.1 and icmp type 8").unwrap();
        assert!(host.matches(&ipv4(1, false)));
        assert!(!Filter::compile("dst host 10.0.0.1")
            .unwrap()
            .matches(&ipv4(1, false)));
        assert!(Filter::compile("all").unwrap().matches(&arp()));
    }

    #[test]
    fn filters_speak_ipv6_too() {
        let echo6 = Filter::compile("icmp6 type echo").unwrap();
        assert!(echo6.matches(&ipv6(58, 128)));
        assert!(!echo6.matches(&ipv6(58, 129)));
        assert!(!echo6.matches(&ipv4(1, false)));
        let ip6 = Filter::compile("ip6").unwrap();
        assert!(ip6.matches(&ipv6(17, 0)));
        assert!(!ip6.matches(&ipv4(17, false)));
        assert!(!ip6.matches(&arp()));
        let net = Filter::compile("src net fd00::/8 and dst host fd00::2").unwrap();
        assert!(net.matches(&ipv6(6, 0)));
        assert!(!Filter::compile("src host fd00::2")
            .unwrap()
            .matches(&ipv6(6, 0)));
        // Version-neutral tests apply to both families once one rule is IPv6.
        let web = Filter::compile("ip6 or tcp").unwrap();
        assert!(web.matches(&ipv4(6, false)));
        let port = Filter::compile("ip6 and udp dst port 80").unwrap();
        assert!(port.matches(&ipv6(17, 0)));
        assert!(!port.matches(&ipv6(6, 0)));
        // A truncated IPv6 header is no IPv6 packet.
        let v = ipv6(58, 128);
        for n in 0..v.len() {
            let _ = echo6.matches(&v[..n]);
        }
        assert!(!ip6.matches(&v[..14 + 39]));
    }

    #[test]
    fn bad_filters_are_clear_errors() {
        let e = Filter::compile("icmp and").err().unwrap();
        assert!(e.starts_with("filter 'icmp and': "), "{e}");
        assert!(Filter::compile("frobnicate 3").is_err());
    }

    #[test]
    fn short_and_odd_frames_do_not_panic() {
        let f = Filter::compile("tcp port 80").unwrap();
        for n in 0..40 {
            let v = ipv4(6, false);
            assert!(!f.matches(&v[..n.min(v.len())]));
        }
        let mut bad = ipv4(6, false);
        bad[14] = 0x4f; // IHL 60 bytes, longer than the frame
        assert!(!f.matches(&bad));
    }

    #[test]
    fn captures_of_each_family_on_loopback_read_back_as_pcap() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            println!(
                "SKIP captures_of_each_family_on_loopback_read_back_as_pcap: needs root (AF_PACKET)"
            );
            return;
        }
        // Each family with a filter only its own datagrams match.
        for (host, filter) in [
            ("127.0.0.1", "udp dst port"),
            ("[::1]", "ip6 and src host ::1 and udp dst port"),
        ] {
            let sock = open("lo").expect("capture socket on lo");
            let udp = std::net::UdpSocket::bind(format!("{host}:0"))
                .unwrap_or_else(|e| panic!("binding {host} (IPv6 on lo?): {e}"));
            let to = udp.local_addr().unwrap();
            let opts = Options {
                count: Some(2),
                filter: Some(Filter::compile(&format!("{filter} {}", to.port())).unwrap()),
                ..Options::default()
            };
            let sender = std::thread::spawn(move || {
                for _ in 0..50 {
                    let s = std::net::UdpSocket::bind(format!("{host}:0")).unwrap();
                    s.send_to(b"mb-capture", to).unwrap();
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
            let mut out = Vec::new();
            let t0 = std::time::Instant::now();
            let s = capture(&sock, &opts, &mut out, &|| {
                t0.elapsed() > Duration::from_secs(10)
            })
            .unwrap();
            sender.join().unwrap();
            assert_eq!(s.captured, 2, "{host}: {s:?}");
            let h = pcap::parse_header(&out).unwrap();
            assert_eq!((h.linktype, h.nanos), (1, true));
            let mut r = pcap::Reader::new(Box::new(std::io::Cursor::new(out))).unwrap();
            let mut n = 0;
            while let Some(rec) = r.next_record().unwrap() {
                assert!(r.data().ends_with(b"mb-capture"));
                let ty = if host.starts_with('[') {
                    0x86dd
                } else {
                    0x0800
                };
                assert_eq!(u16::from_be_bytes([r.data()[12], r.data()[13]]), ty);
                assert_eq!(rec.caplen, rec.len);
                n += 1;
            }
            assert_eq!(n, 2, "{host}");
        }
    }
}
