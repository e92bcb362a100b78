//! Names the IPFilter language knows: protocols, TCP/UDP services, TCP
//! flags and ICMP types (Click's static name databases), and ICMPv6 types
//! (ours: Click's IPFilter has no IPv6).

/// IP protocol numbers; values of 256 and up are Click's pseudo-protocols.
pub const PROTOCOLS: &[(&str, u32)] = &[
    ("dccp", 33),
    ("gre", 47),
    ("icmp", 1),
    ("icmp6", ICMP6),
    ("igmp", 2),
    ("ipip", 4),
    ("payload", PROTO_PAYLOAD),
    ("sctp", 132),
    ("tcp", 6),
    ("tcpudp", PROTO_TCP_OR_UDP),
    ("transp", PROTO_TRANSP),
    ("udp", 17),
];

/// `tcpudp`: TCP or UDP.
pub const PROTO_TCP_OR_UDP: u32 = 256;
/// `transp`: any transport protocol.
pub const PROTO_TRANSP: u32 = 258;
/// `payload`.
pub const PROTO_PAYLOAD: u32 = 259;
/// TCP.
pub const TCP: u32 = 6;
/// UDP.
pub const UDP: u32 = 17;
/// ICMP.
pub const ICMP: u32 = 1;
/// DCCP.
pub const DCCP: u32 = 33;
/// ICMPv6.
pub const ICMP6: u32 = 58;

/// ICMPv6 types (RFC 4443, 4861), named like Click's ICMP types.
pub const ICMP6_TYPES: &[(&str, u32)] = &[
    ("echo", 128),
    ("echo-reply", 129),
    ("neighboradvert", 136),
    ("neighborsolicit", 135),
    ("packettoobig", 2),
    ("parameterproblem", 4),
    ("redirect", 137),
    ("routeradvert", 134),
    ("routersolicit", 133),
    ("timeexceeded", 3),
    ("unreachable", 1),
];

/// Well-known TCP and UDP ports (the same table serves both).
pub const PORTS: &[(&str, u32)] = &[
    ("auth", 113),
    ("bootpc", 68),
    ("bootps", 67),
    ("chargen", 19),
    ("daytime", 13),
    ("discard", 9),
    ("dns", 53),
    ("domain", 53),
    ("echo", 7),
    ("finger", 79),
    ("ftp", 21),
    ("ftp-data", 20),
    ("https", 443),
    ("imap3", 220),
    ("imaps", 993),
    ("irc", 194),
    ("netbios-dgm", 138),
    ("netbios-ns", 137),
    ("netbios-ssn", 139),
    ("nntp", 119),
    ("ntp", 123),
    ("pop3", 110),
    ("pop3s", 995),
    ("pptp", 1723),
    ("rip", 520),
    ("route", 520),
    ("smtp", 25),
    ("snmp", 161),
    ("snmp-trap", 162),
    ("ssh", 22),
    ("sunrpc", 111),
    ("telnet", 23),
    ("tftp", 69),
    ("www", 80),
];

/// TCP flag bits.
pub const TCP_FLAGS: &[(&str, u32)] = &[
    ("ack", 0x10),
    ("fin", 0x01),
    ("psh", 0x08),
    ("rst", 0x04),
    ("syn", 0x02),
    ("urg", 0x20),
];

/// Looks `word` up in `table`.
pub fn find(table: &[(&str, u32)], word: &str) -> Option<u32> {
    table.iter().find(|(n, _)| *n == word).map(|&(_, v)| v)
}

/// A protocol's name for messages (`tcp`, `ip proto 47`).
pub fn proto_name(p: u32) -> alloc::string::String {
    match PROTOCOLS.iter().find(|&&(_, v)| v == p) {
        Some((n, _)) => alloc::string::String::from(*n),
        None => alloc::format!("ip proto {p}"),
    }
}
