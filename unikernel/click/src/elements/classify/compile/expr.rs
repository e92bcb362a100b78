//! The IPFilter/IPClassifier expression language (tcpdump-like), parsed
//! straight into a [`Expr`] tree of word tests with Click's semantics:
//! qualifier defaults and inheritance, relational operators as bit-prefix
//! tests, implicit protocol and first-fragment tests, and the short-packet
//! behaviour of `!=` versus `not`.
//!
//! Offsets: the IP header annotation ([`Base::Net`]), the transport header
//! ([`Base::Transp`], IP header + IHL*4) and the MAC header ([`Base::Mac`],
//! with Click's two-byte shift so Ethernet addresses fill whole words).

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::names::{self, DCCP, ICMP, ICMP6, PROTO_TCP_OR_UDP, TCP, UDP};
use super::tree::{Base, Expr, Leaf};
use crate::confparse::values::parse_i64;
use crate::confparse::{EtherAddr, Ipv4, Ipv4Prefix};

/// Deepest nesting of parentheses and `not`s accepted (keeps the
/// recursive parser's stack use bounded on hostile input).
const MAX_DEPTH: u32 = 100;

/// Splits an expression into Click's tokens: words of
/// `[A-Za-z0-9-./@_:]`, and the punctuation `( ) [ ] , ; ?`, `& && | ||`,
/// `< <= > >= ! != = ==`.
pub fn tokenize(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let word = |c: u8| c.is_ascii_alphanumeric() || b"-./@_:".contains(&c);
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let next = b.get(i + 1).copied();
        let len = match c {
            b'&' | b'|' if next == Some(c) => 2,
            b'<' | b'>' | b'!' | b'=' if next == Some(b'=') => 2,
            _ if word(c) => b[i..].iter().take_while(|&&x| word(x)).count(),
            // Any other character is a token by itself (a whole UTF-8
            // sequence, so slicing stays on character boundaries).
            _ => s[i..].chars().next().map_or(1, char::len_utf8),
        };
        out.push(&s[i..i + len]);
        i += len;
    }
    out
}

/// A header field: bit offset and length, in the IP header (`proto` 0,
/// the IPv6 header when `ip6`) or in the transport header of protocol
/// `proto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    proto: u32,
    bit: u32,
    len: u32,
    ip6: bool,
}

const fn field(proto: u32, bit: u32, len: u32) -> Field {
    Field {
        proto,
        bit,
        len,
        ip6: false,
    }
}

const fn field6(bit: u32, len: u32) -> Field {
    Field {
        proto: 0,
        bit,
        len,
        ip6: true,
    }
}

const F_VERS: Field = field(0, 0, 4);
const F_HL: Field = field(0, 4, 4);
const F_TOS: Field = field(0, 8, 8);
const F_DSCP: Field = field(0, 8, 6);
const F_LEN: Field = field(0, 16, 16);
const F_ID: Field = field(0, 32, 16);
const F_TTL: Field = field(0, 64, 8);
const F_WIN: Field = field(TCP, 112, 16);
const F_ICMP_TYPE: Field = field(ICMP, 0, 8);
const F_ICMP_CODE: Field = field(ICMP, 8, 8);
const F_ICMP6_TYPE: Field = field(ICMP6, 0, 8);
const F_ICMP6_CODE: Field = field(ICMP6, 8, 8);
const F6_TC: Field = field6(4, 8);
const F6_FLOW: Field = field6(12, 20);
const F6_PLEN: Field = field6(32, 16);
const F6_NXT: Field = field6(48, 8);
const F6_HLIM: Field = field6(56, 8);

/// The IPv6 header's length: where the classifier looks for the transport
/// header of an IPv6 packet (only when the next header is the transport
/// protocol itself; extension headers are not walked).
const IP6_HLEN: i32 = 40;

/// What a primitive tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    None,
    Host,
    Net,
    Proto,
    Frag,
    Unfrag,
    Port,
    TcpOpt,
    Ether,
    Ect,
    Ce,
    /// Bare `ip6` (or bare `ip`): the IP version.
    Version,
    Field(Field),
}

/// Which IP versions a test is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fam {
    /// Neither (`ether host`, `ip vers`): tested as written.
    Neutral,
    /// Either: transport tests (`tcp`, `port 80`, `tcp opt syn` ...).
    Any,
    /// IPv4 only (Click's tests: `ip ...`, IPv4 addresses, `icmp`).
    V4,
    /// IPv6 only (`ip6 ...`, IPv6 addresses, `icmp6`).
    V6,
}

/// What kind of value the data word turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Data {
    None,
    Int,
    Host,
    Net,
    /// An IPv6 address.
    Host6,
    /// An IPv6 prefix.
    Net6,
    Proto,
    Port,
    TcpOpt,
    Ether,
    Field(Field),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sd {
    None,
    Src,
    Dst,
    And,
    Or,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Gt,
    Lt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MaskKind {
    None,
    Int,
    Host,
    Ether,
}

/// What followed a test's value: its mask, and the word that stopped
/// the parse (for "expected X, got 'W'").
struct Given<'a> {
    mask_kind: MaskKind,
    mask_u: u32,
    mask_e: [u8; 6],
    bad_word: Option<&'a str>,
}

/// One test being parsed: `[quals] [relop] data`.
#[derive(Clone, Copy, Debug)]
struct Prim {
    ty: Ty,
    data: Data,
    op: Op,
    negated: bool,
    sd: Sd,
    proto: Option<u32>,
    u: u32,
    mask: u32,
    ether: [u8; 6],
    ether_mask: [u8; 6],
    /// IPv6 address and mask.
    a6: u128,
    m6: u128,
    fam: Fam,
}

impl Default for Prim {
    fn default() -> Self {
        Prim {
            ty: Ty::None,
            data: Data::None,
            op: Op::Eq,
            negated: false,
            sd: Sd::None,
            proto: None,
            u: 0,
            mask: 0,
            ether: [0; 6],
            ether_mask: [0; 6],
            a6: 0,
            m6: 0,
            fam: Fam::Neutral,
        }
    }
}

fn type_name(ty: Ty) -> String {
    String::from(match ty {
        Ty::None => "<none>",
        Ty::Host => "host",
        Ty::Net => "net",
        Ty::Proto => "proto",
        Ty::Frag => "ip frag",
        Ty::Unfrag => "ip unfrag",
        Ty::Port => "port",
        Ty::TcpOpt => "tcp opt",
        Ty::Ether => "ether host",
        Ty::Ect => "ip ect",
        Ty::Ce => "ip ce",
        Ty::Version => "ip version",
        Ty::Field(f) => match f {
            F_VERS => "ip vers",
            F_HL => "ip hl",
            F_TOS => "ip tos",
            F_DSCP => "ip dscp",
            F_LEN => "ip len",
            F_ID => "ip id",
            F_TTL => "ip ttl",
            F_WIN => "tcp win",
            F_ICMP_TYPE => "icmp type",
            F_ICMP_CODE => "icmp code",
            F_ICMP6_TYPE => "icmp6 type",
            F_ICMP6_CODE => "icmp6 code",
            F6_TC => "ip6 tc",
            F6_FLOW => "ip6 flow",
            F6_PLEN => "ip6 plen",
            F6_NXT => "ip6 nxt",
            F6_HLIM => "ip6 hlim",
            Field { ip6: true, .. } => "ip6[...]",
            Field { proto: 0, .. } => "ip[...]",
            _ => "transp[...]",
        },
    })
}

impl Prim {
    fn name(&self) -> String {
        let sd = match self.sd {
            Sd::None => "",
            Sd::Src => "src ",
            Sd::Dst => "dst ",
            Sd::And => "src and dst ",
            Sd::Or => "src or dst ",
        };
        format!("{sd}{}", type_name(self.ty))
    }

    fn err(&self, msg: &str) -> String {
        format!("'{}': {msg}", self.name())
    }

    fn set_type(&mut self, t: Ty) -> Result<(), String> {
        if self.ty != Ty::None {
            return Err(String::from("type specified twice"));
        }
        self.ty = t;
        Ok(())
    }

    fn set_sd(&mut self, sd: Sd) -> Result<(), String> {
        if self.sd != Sd::None {
            return Err(String::from("'src' or 'dst' specified twice"));
        }
        self.sd = sd;
        Ok(())
    }

    fn set_proto(&mut self, p: u32) -> Result<(), String> {
        if self.proto.is_some_and(|q| q != p) {
            return Err(String::from("transport protocol specified twice"));
        }
        self.proto = Some(p);
        Ok(())
    }

    /// Range-checks the value against the field's width and turns `<` and
    /// degenerate comparisons into the forms [`Prim::comparison`] expects.
    fn set_mask(&mut self, full: u32, provided: u32) -> Result<(), String> {
        let data = self.u;
        let this = if provided != 0 { provided } else { full };
        if this & full != this {
            return Err(self.err(&format!("mask out of range, bound 0x{full:X}")));
        }
        if self.op != Op::Eq {
            if (self.op == Op::Lt && (data == 0 || data > this))
                || (self.op == Op::Gt && data >= this)
            {
                // Always true or always false: an empty-mask test.
                let will_be = if self.op == Op::Lt && data > this {
                    !self.negated
                } else {
                    self.negated
                };
                self.u = 0;
                self.mask = 0;
                self.negated = !will_be;
                self.op = Op::Eq;
                return Ok(());
            }
            if self.op == Op::Lt {
                // x < N  ==  !(x > N-1)
                self.u -= 1;
                self.negated = !self.negated;
                self.op = Op::Gt;
            }
            self.mask = this;
            if self.u & self.mask != self.u {
                // 'x & 5 > 2' is 'x & 5 > 1': set every bit below the highest
                // value bit the mask drops.
                let missing = (self.u & self.mask) ^ (self.u & full);
                let add = u32::MAX
                    .checked_shr(missing.leading_zeros() + 1)
                    .unwrap_or(0);
                self.u = (self.u | add) & self.mask;
            }
            return Ok(());
        }
        if data > full {
            return Err(self.err(&format!("out of range, bound {full}")));
        }
        self.u = data;
        self.mask = this;
        Ok(())
    }

    /// Click's `check`: fills in the type from the data or the previous
    /// primitive, and validates data, operator and mask.
    fn check(
        &mut self,
        prev: &Prim,
        header: u8,
        mask_kind: MaskKind,
        mask_u: u32,
        mask_e: [u8; 6],
        bad_word: Option<&str>,
    ) -> Result<(), String> {
        let bare = self.data == Data::None && self.proto.is_none() && bad_word.is_none();
        if self.ty == Ty::None && bare && matches!(header, b'i' | b'6') {
            // Bare `ip6` or `ip`: a version test (ours; Click has none).
            self.ty = Ty::Version;
        }
        if self.ty == Ty::None {
            self.infer_type(prev, bad_word)?;
        }
        let explicit_ip = header == b'i';
        let v6_field = matches!(self.ty, Ty::Field(f) if f.ip6);
        let header = match header {
            0 if self.data == Data::Ether => b'e',
            0 if matches!(self.data, Data::Host6 | Data::Net6) || v6_field => b'6',
            0 => b'i',
            h => h,
        };
        if header == b'e' && self.ty == Ty::Host {
            self.ty = Ty::Ether;
        }
        let g = Given {
            mask_kind,
            mask_u,
            mask_e,
            bad_word,
        };
        let either = matches!(self.ty, Ty::Proto | Ty::Port | Ty::TcpOpt | Ty::Version)
            || matches!(self.ty, Ty::Field(f) if f.proto != 0);
        let v6_ok = either || v6_field || self.ty == Ty::Field(F_VERS);
        if v6_field && header != b'6' {
            return Err(self.err("ip6 only"));
        }
        if !matches!(self.ty, Ty::Ether | Ty::Host | Ty::Net | Ty::None)
            && header != b'i'
            && !(header == b'6' && v6_ok)
        {
            return Err(self.err("ip only"));
        }
        match self.ty {
            Ty::Host | Ty::Net => self.check_address(header, &g)?,
            Ty::Ether => self.check_ether(header, &g)?,
            Ty::Proto => self.check_proto(&g)?,
            Ty::Port => self.check_port(&g)?,
            Ty::TcpOpt => self.check_tcp_opt(&g)?,
            Ty::Ect => self.check_ect(&g)?,
            Ty::Ce | Ty::Frag | Ty::Unfrag => self.check_flag(&g)?,
            Ty::Field(f) => self.check_field(f, &g)?,
            Ty::Version if g.mask_kind != MaskKind::None => {
                return Err(self.err("mask not supported"))
            }
            Ty::Version => self.u = if header == b'6' { 6 } else { 4 },
            Ty::None => return Err(String::from("partial directive")),
        }
        self.fam = match self.ty {
            Ty::Ether | Ty::Field(F_VERS) => Fam::Neutral,
            _ if header == b'6' => Fam::V6,
            _ if explicit_ip => Fam::V4,
            // `icmp6 type 1 or 2`: the second test inherits the field.
            Ty::Field(F_ICMP6_TYPE | F_ICMP6_CODE) => Fam::V6,
            Ty::Proto if self.u == ICMP => Fam::V4,
            Ty::Proto | Ty::Port | Ty::TcpOpt | Ty::Field(Field { proto: 1.., .. }) => {
                match self.proto {
                    Some(ICMP) => Fam::V4,
                    _ => Fam::Any,
                }
            }
            _ => Fam::V4,
        };
        // Click only warns about a meaningless src/dst; we keep quiet.
        if matches!(self.ty, Ty::Host | Ty::Port | Ty::Ether) && self.sd == Sd::None {
            self.sd = Sd::Or;
        }
        Ok(())
    }

    /// The type a test without one takes from its data (an address is a
    /// `host`, a bare integer continues the previous test's field...).
    fn infer_type(&mut self, prev: &Prim, bad_word: Option<&str>) -> Result<(), String> {
        if self.data == Data::Int {
            self.data = match prev.ty {
                Ty::Field(f) => Data::Field(f),
                Ty::Proto => Data::Proto,
                Ty::Port => Data::Port,
                _ => return Err(String::from("specify header field or 'port'")),
            };
        }
        let inherit_sd = |p: &mut Prim| {
            if p.sd == Sd::None {
                p.sd = prev.sd;
            }
        };
        match self.data {
            Data::Host | Data::Net | Data::Host6 | Data::Net6 | Data::TcpOpt | Data::Ether => {
                self.ty = match self.data {
                    Data::Host | Data::Host6 => Ty::Host,
                    Data::Net | Data::Net6 => Ty::Net,
                    Data::TcpOpt => Ty::TcpOpt,
                    _ => Ty::Ether,
                };
                inherit_sd(self);
            }
            Data::Proto => self.ty = Ty::Proto,
            Data::Port => {
                self.ty = Ty::Port;
                inherit_sd(self);
                if self.proto.is_none() {
                    self.proto = prev.proto;
                }
            }
            Data::None if self.proto.is_some() => self.ty = Ty::Proto,
            Data::None => {
                return Err(match bad_word {
                    Some(w) => format!("expected a test, got '{w}'"),
                    None => String::from("partial directive"),
                })
            }
            Data::Field(f) => {
                self.ty = Ty::Field(f);
                if f.proto != 0 && self.proto.is_none() {
                    self.proto = Some(f.proto);
                }
            }
            // Rewritten above.
            Data::Int => {}
        }
        Ok(())
    }

    /// "expected WHAT, got 'WORD'" for the word that was not a value, or
    /// "value missing" when the directive just ended.
    fn missing(&self, g: &Given, what: &str) -> String {
        match g.bad_word {
            Some(w) => format!("expected {what}, got '{w}'"),
            None => self.err("value missing"),
        }
    }

    /// The mask of a test that takes only an integer mask (0: none given).
    fn int_mask(&self, g: &Given) -> Result<u32, String> {
        match g.mask_kind {
            MaskKind::None => Ok(0),
            MaskKind::Int => Ok(g.mask_u),
            _ => Err(self.err("bad mask")),
        }
    }

    /// `host ADDR` and `net PREFIX` (both end up as a masked host test).
    fn check_address(&mut self, header: u8, g: &Given) -> Result<(), String> {
        let host = self.ty == Ty::Host;
        let want = match (header, host) {
            (b'6', true) => Data::Host6,
            (b'6', false) => Data::Net6,
            (_, true) => Data::Host,
            (_, false) => Data::Net,
        };
        match (header, self.data) {
            (b'6', Data::Host | Data::Net) => return Err(self.err("IPv4 address after 'ip6'")),
            (b'i', Data::Host6 | Data::Net6) => return Err(self.err("IPv6 address after 'ip'")),
            _ => {}
        }
        if !matches!(header, b'i' | b'6') || self.data != want {
            let v = if header == b'6' { "IPv6" } else { "IP" };
            return Err(match g.bad_word {
                Some(w) if host => format!("expected {v} address, got '{w}'"),
                Some(w) => format!("expected {v} prefix, got '{w}'"),
                None => self.err("address missing"),
            });
        }
        if self.op != Op::Eq {
            return Err(self.err("operator not supported"));
        }
        if header == b'6' {
            if g.mask_kind != MaskKind::None {
                return Err(self.err("bad mask"));
            }
            if host {
                self.m6 = u128::MAX;
            }
            self.ty = Ty::Host;
            return Ok(());
        }
        if self.ty == Ty::Host {
            self.mask = u32::MAX;
        }
        self.ty = Ty::Host;
        match g.mask_kind {
            MaskKind::None => {}
            MaskKind::Int | MaskKind::Host => self.mask = g.mask_u,
            MaskKind::Ether => return Err(self.err("bad mask")),
        }
        Ok(())
    }

    /// `ether host ADDR`.
    fn check_ether(&mut self, header: u8, g: &Given) -> Result<(), String> {
        if header != b'e' || self.data != Data::Ether {
            return Err(match g.bad_word {
                Some(w) => format!("expected Ethernet address, got '{w}'"),
                None => self.err("address missing"),
            });
        }
        if self.op != Op::Eq {
            return Err(self.err("operator not supported"));
        }
        self.ether_mask = [0xff; 6];
        match g.mask_kind {
            MaskKind::None => {}
            MaskKind::Ether => self.ether_mask = g.mask_e,
            _ => return Err(self.err("bad mask")),
        }
        Ok(())
    }

    /// `proto N`, `ip proto NAME`, and a bare protocol name.
    fn check_proto(&mut self, g: &Given) -> Result<(), String> {
        let value = if matches!(self.data, Data::Int | Data::Proto) {
            if self.proto.is_some_and(|p| p != self.u) {
                return Err(self.err("specified twice"));
            }
            self.data = Data::None;
            Some(self.u)
        } else {
            self.proto
        };
        self.proto = None;
        let value = match value {
            Some(v) if self.data == Data::None => v,
            _ => return Err(self.missing(g, "protocol number or name")),
        };
        self.u = value;
        if value >= 256 {
            // Pseudo-protocols (tcp-or-udp...) match exactly or not at all.
            if self.op != Op::Eq || g.mask_kind != MaskKind::None {
                return Err(format!(
                    "'{}': operator or mask not supported",
                    names::proto_name(value)
                ));
            }
            self.mask = 0xff;
        } else {
            let m = self.int_mask(g)?;
            self.set_mask(0xff, m)?;
        }
        if self.op == Op::Eq && self.mask == 0xff && !self.negated {
            self.proto = Some(self.u);
        }
        Ok(())
    }

    /// `[tcp|udp|dccp] [src|dst] port N`.
    fn check_port(&mut self, g: &Given) -> Result<(), String> {
        if self.data == Data::Int {
            self.data = Data::Port;
        }
        if self.data != Data::Port {
            return Err(self.missing(g, "port number or name"));
        }
        match self.proto {
            None => self.proto = Some(PROTO_TCP_OR_UDP),
            Some(TCP | UDP | PROTO_TCP_OR_UDP | DCCP) => {}
            Some(p) => return Err(format!("'port': bad protocol {p}")),
        }
        let m = self.int_mask(g)?;
        self.set_mask(0xffff, m)
    }

    /// `tcp opt FLAG`.
    fn check_tcp_opt(&mut self, g: &Given) -> Result<(), String> {
        if self.data == Data::Int {
            self.data = Data::TcpOpt;
        }
        if self.data != Data::TcpOpt {
            return Err(self.missing(g, "TCP flag (syn, fin, ack, rst, psh, urg)"));
        }
        match self.proto {
            None => self.proto = Some(TCP),
            Some(TCP) => {}
            Some(p) => return Err(format!("'tcp opt': bad protocol {p}")),
        }
        if self.op != Op::Eq || self.negated || g.mask_kind != MaskKind::None {
            return Err(self.err("operator or mask not supported"));
        }
        if self.u > 255 {
            return Err(format!("'tcp opt': value {} out of range", self.u as i32));
        }
        self.mask = self.u;
        Ok(())
    }

    /// `ip ect [N]`: the two ECN bits of the TOS byte.
    fn check_ect(&mut self, g: &Given) -> Result<(), String> {
        match self.data {
            Data::None => {
                self.u = 0;
                self.negated = true;
            }
            Data::Int => {}
            _ => return Err(self.missing(g, "an integer")),
        }
        let m = self.int_mask(g)?;
        self.set_mask(3, m)?;
        self.ty = Ty::Field(F_TOS);
        Ok(())
    }

    /// `ip ce`, `ip frag`, `ip unfrag`: tests without a value.
    fn check_flag(&mut self, g: &Given) -> Result<(), String> {
        if self.data != Data::None || g.mask_kind != MaskKind::None {
            return Err(self.err("value not supported"));
        }
        match self.ty {
            Ty::Ce => {
                self.mask = 3;
                self.u = 3;
                self.ty = Ty::Field(F_TOS);
            }
            Ty::Unfrag => {
                self.negated = true;
                self.ty = Ty::Frag;
            }
            _ => {}
        }
        Ok(())
    }

    /// A header field (`ip ttl`, `tcp win`, `ip[...]`...) against an integer.
    fn check_field(&mut self, f: Field, g: &Given) -> Result<(), String> {
        if self.data != Data::Int && self.data != Data::Field(f) {
            let what = match f {
                F_ICMP_TYPE => "ICMP type number or name",
                F_ICMP6_TYPE => "ICMPv6 type number or name",
                _ => "an integer",
            };
            return Err(self.missing(g, what));
        }
        let m = self.int_mask(g)?;
        let full = if f.len >= 32 {
            u32::MAX
        } else {
            (1u32 << f.len) - 1
        };
        self.set_mask(full, m)
    }

    /// The word tests for `field & mask OP value` at `base[off]`, value
    /// bits shifted left by `shift`. Greater-than becomes a chain of tests
    /// on bit prefixes; `op_negate` applies `!=` here (ports and hosts
    /// apply it after combining src and dst).
    fn comparison(&self, base: Base, off: i32, shift: u32, op_negate: bool) -> Expr {
        let mut mask = self.mask;
        let mut u = self.u & mask;
        let e = if self.op == Op::Eq {
            Expr::Leaf(Leaf::new(base, off, u << shift, mask << shift))
        } else {
            // Each step tests the bits above the first place where values
            // greater than `u` can differ from `u`.
            let mut steps: Vec<(Expr, bool)> = Vec::new();
            while u < mask && steps.len() < 40 {
                let high = u > (mask >> 1);
                let x = if high { !(u.wrapping_add(1)) & mask } else { u };
                let fdb = if x == 0 { 33 } else { 32 - x.leading_zeros() };
                let low = if fdb >= 32 { 0 } else { (1u32 << fdb) - 1 };
                let upper_mask = if fdb == 33 { mask } else { mask & !low };
                let upper_u = if high { upper_mask } else { 0 };
                let leaf = Expr::Leaf(Leaf::new(base, off, upper_u << shift, upper_mask << shift));
                steps.push((if high { leaf } else { leaf.negate(true) }, high));
                mask &= !upper_mask;
                u &= mask;
            }
            let mut acc: Option<Expr> = None;
            while let Some((leaf, high)) = steps.pop() {
                acc = Some(match acc {
                    None => leaf,
                    Some(rest) if high => Expr::and(vec![leaf, rest]),
                    Some(rest) => Expr::or(vec![leaf, rest]),
                });
            }
            acc.unwrap_or(Expr::Const(true))
        };
        if self.negated && op_negate {
            e.negate(true)
        } else {
            e
        }
    }

    fn sd_combine(&self, src: Expr, dst: Expr) -> Expr {
        let e = match self.sd {
            Sd::Src => src,
            Sd::Dst => dst,
            Sd::Or => Expr::or(vec![src, dst]),
            _ => Expr::and(vec![src, dst]),
        };
        if self.negated {
            e.negate(true)
        } else {
            e
        }
    }

    /// The primitive as word tests. In an element with IPv6 tests
    /// (`mixed`), IPv4 tests also check the version, and tests of either
    /// version (`tcp`, `port 80`) become one for each.
    fn compile(&self, mixed: bool) -> Expr {
        let v4 = || Expr::and(vec![version(4), self.compile4()]);
        match self.fam {
            Fam::V6 => Expr::and(vec![version(6), self.compile6()]),
            Fam::Any if mixed => Expr::or(vec![v4(), Expr::and(vec![version(6), self.compile6()])]),
            Fam::V4 if mixed && self.ty != Ty::Version => v4(),
            Fam::V4 | Fam::Any | Fam::Neutral => self.compile4(),
        }
    }

    /// The IPv6 tests, the version aside. The transport header is the one
    /// right after the fixed header, when the next header is the protocol
    /// tested: a packet with extension headers (fragments included) matches
    /// no transport test.
    fn compile6(&self) -> Expr {
        let mut parts = Vec::new();
        if let Some(p) = self.proto {
            let nxt = |v: u32| Expr::Leaf(Leaf::new(Base::Net, 4, v << 8, 0x0000_ff00));
            if p == PROTO_TCP_OR_UDP {
                parts.push(Expr::or(vec![nxt(TCP), nxt(UDP)]));
            } else if p < 256 {
                parts.push(nxt(p));
            }
        }
        let t = IP6_HLEN;
        match self.ty {
            Ty::Host => {
                let addr = |off: i32| {
                    let words = (0..4).filter_map(|k| {
                        let shift = 96 - 32 * k;
                        let m = (self.m6 >> shift) as u32;
                        let v = (self.a6 >> shift) as u32 & m;
                        (m != 0).then(|| Expr::Leaf(Leaf::new(Base::Net, off + 4 * k, v, m)))
                    });
                    Expr::and(words.collect())
                };
                parts.push(self.sd_combine(addr(8), addr(24)));
            }
            Ty::Proto if self.proto.is_none_or(|p| p < 256) => {
                parts.push(self.comparison(Base::Net, 4, 8, true));
            }
            Ty::Port => {
                let src = self.comparison(Base::Net, t, 16, false);
                let dst = self.comparison(Base::Net, t, 0, false);
                parts.push(self.sd_combine(src, dst));
            }
            Ty::TcpOpt => parts.push(Expr::Leaf(Leaf::new(
                Base::Net,
                t + 12,
                self.u << 16,
                self.mask << 16,
            ))),
            Ty::Field(f) => {
                let word = ((f.bit >> 3) & !3) as i32 + if f.proto != 0 { t } else { 0 };
                let bit = f.bit & 31;
                parts.push(self.comparison(Base::Net, word, 32 - (bit + f.len), true));
            }
            _ => {}
        }
        Expr::and(parts)
    }

    /// The IPv4 tests (Click's).
    fn compile4(&self) -> Expr {
        let mut parts = Vec::new();
        if let Some(p) = self.proto {
            let proto = |v: u32| Expr::Leaf(Leaf::new(Base::Net, 8, v << 16, 0x00ff_0000));
            if p == PROTO_TCP_OR_UDP {
                parts.push(Expr::or(vec![proto(TCP), proto(UDP)]));
            } else if p < 256 {
                parts.push(proto(p));
            }
        }
        let transport_field = matches!(self.ty, Ty::Field(f) if f.proto != 0);
        if matches!(self.ty, Ty::Port | Ty::TcpOpt) || transport_field {
            // Only the first fragment carries the transport header.
            parts.push(Expr::Leaf(Leaf::new(Base::Net, 4, 0, 0x1fff)));
        }
        match self.ty {
            Ty::Host => {
                let src = self.comparison(Base::Net, 12, 0, false);
                let dst = self.comparison(Base::Net, 16, 0, false);
                parts.push(self.sd_combine(src, dst));
            }
            Ty::Ether => {
                let (a, m) = (self.ether, self.ether_mask);
                let w = |b: [u8; 4]| u32::from_be_bytes(b);
                let l = |off: i32, v: [u8; 4], mk: [u8; 4]| {
                    Expr::Leaf(Leaf::new(Base::Mac, off, w(v), w(mk)))
                };
                let src = Expr::and(vec![
                    l(6, [a[0], a[1], a[2], a[3]], [m[0], m[1], m[2], m[3]]),
                    l(10, [a[4], a[5], 0, 0], [m[4], m[5], 0, 0]),
                ]);
                let dst = Expr::and(vec![
                    l(-2, [0, 0, a[0], a[1]], [0, 0, m[0], m[1]]),
                    l(2, [a[2], a[3], a[4], a[5]], [m[2], m[3], m[4], m[5]]),
                ]);
                parts.push(self.sd_combine(src, dst));
            }
            Ty::Proto => {
                if self.proto.is_none_or(|p| p < 256) {
                    parts.push(self.comparison(Base::Net, 8, 16, true));
                }
            }
            Ty::Frag => {
                parts.push(Expr::Leaf(Leaf::new(Base::Net, 4, 0, 0x3fff)));
                if !self.negated {
                    let all = Expr::and(core::mem::take(&mut parts));
                    parts.push(all.negate(true));
                }
            }
            Ty::Port => {
                let src = self.comparison(Base::Transp, 0, 16, false);
                let dst = self.comparison(Base::Transp, 0, 0, false);
                parts.push(self.sd_combine(src, dst));
            }
            Ty::TcpOpt => parts.push(Expr::Leaf(Leaf::new(
                Base::Transp,
                12,
                self.u << 16,
                self.mask << 16,
            ))),
            Ty::Field(f) => {
                let word = ((f.bit >> 3) & !3) as i32;
                let bit = f.bit & 31;
                let base = if f.proto != 0 {
                    Base::Transp
                } else {
                    Base::Net
                };
                parts.push(self.comparison(base, word, 32 - (bit + f.len), true));
            }
            Ty::Version => parts.push(version(self.u)),
            Ty::None | Ty::Net | Ty::Unfrag | Ty::Ect | Ty::Ce => {}
        }
        Expr::and(parts)
    }
}

/// The header a test reads after `word`: the `icmp6` protocol name makes
/// it an IPv6 test, as `ip6` does (the number 58 does not: `proto 58` is
/// Click's IPv4 test).
fn icmp6_header(word: &str, header: u8) -> u8 {
    if word == "icmp6" && header == 0 {
        b'6'
    } else {
        header
    }
}

/// The test that the IP header is of version `v`.
fn version(v: u32) -> Expr {
    Expr::Leaf(Leaf::new(Base::Net, 0, v << 28, 0xf000_0000))
}

/// A word looked up in the name tables.
enum Look {
    /// A qualifier keyword (`host`, `port` ...); `None` for pure syntax
    /// words (`src`, `ip`, `not` ...).
    Type(Option<Ty>),
    /// Not a known name.
    Unknown,
    /// A value name of the given kind.
    Found(Data, u32),
    /// Ambiguous or meaningless in this context.
    Bad(String),
}

fn type_word(w: &str) -> Option<Option<Ty>> {
    Some(Some(match w {
        "ce" => Ty::Ce,
        "code" => Ty::Field(F_ICMP_CODE),
        "dscp" => Ty::Field(F_DSCP),
        "ect" => Ty::Ect,
        "flow" => Ty::Field(F6_FLOW),
        "frag" => Ty::Frag,
        "hl" => Ty::Field(F_HL),
        "hlim" => Ty::Field(F6_HLIM),
        "host" => Ty::Host,
        "id" => Ty::Field(F_ID),
        "len" => Ty::Field(F_LEN),
        "net" => Ty::Net,
        "nxt" => Ty::Field(F6_NXT),
        "opt" => Ty::TcpOpt,
        "plen" => Ty::Field(F6_PLEN),
        "port" => Ty::Port,
        "proto" => Ty::Proto,
        "tc" => Ty::Field(F6_TC),
        "tos" => Ty::Field(F_TOS),
        "ttl" => Ty::Field(F_TTL),
        "type" => Ty::Field(F_ICMP_TYPE),
        "unfrag" => Ty::Unfrag,
        "vers" => Ty::Field(F_VERS),
        "win" => Ty::Field(F_WIN),
        "dest" | "dst" | "ether" | "ip" | "ip6" | "not" | "src" => return Some(None),
        _ => return None,
    }))
}

fn lookup(word: &str, ty: Ty, proto: Option<u32>) -> Look {
    if ty == Ty::None {
        if let Some(t) = type_word(word) {
            return Look::Type(t);
        }
    }
    let p = names::find(names::PROTOCOLS, word);
    let port = names::find(names::PORTS, word);
    let opt = names::find(names::TCP_FLAGS, word);
    let icmp = crate::net::icmp::TYPE_NAMES
        .iter()
        .find(|(n, _)| *n == word)
        .map(|&(_, v)| u32::from(v));
    let icmp6 = names::find(names::ICMP6_TYPES, word);
    if p.is_none() && port.is_none() && opt.is_none() && icmp.is_none() && icmp6.is_none() {
        return Look::Unknown;
    }
    let any = |t: Ty| ty == Ty::None || ty == t;
    let tcpish = proto.is_none_or(|q| q == TCP || q == PROTO_TCP_OR_UDP);
    let udpish = proto.is_none_or(|q| q == UDP || q == PROTO_TCP_OR_UDP);
    let mut hits: Vec<(Data, u32)> = Vec::new();
    if let (Some(v), true) = (p, any(Ty::Proto)) {
        hits.push((Data::Proto, v));
    }
    if let (Some(v), true) = (port, any(Ty::Port) && (tcpish || udpish)) {
        hits.push((Data::Port, v));
    }
    if let (Some(v), true) = (opt, any(Ty::TcpOpt) && tcpish) {
        hits.push((Data::TcpOpt, v));
    }
    let icmp_ok = any(Ty::Field(F_ICMP_TYPE)) && proto.is_none_or(|q| q == ICMP);
    if let (Some(v), true) = (icmp, icmp_ok) {
        hits.push((Data::Field(F_ICMP_TYPE), v));
    }
    // ICMPv6 names only after `icmp6` (bare names stay Click's).
    let icmp6_ok = any(Ty::Field(F_ICMP6_TYPE)) && proto == Some(ICMP6);
    if let (Some(v), true) = (icmp6, icmp6_ok) {
        hits.push((Data::Field(F_ICMP6_TYPE), v));
    }
    if hits.len() == 1 {
        return Look::Found(hits[0].0, hits[0].1);
    }
    let mut tries: Vec<String> = Vec::new();
    if p.is_some() {
        tries.push(format!("'ip proto {word}'"));
    }
    if port.is_some() {
        tries.push(format!("'port {word}'"));
    }
    if opt.is_some() {
        tries.push(format!("'tcp opt {word}'"));
    }
    if icmp.is_some() {
        tries.push(format!("'icmp type {word}'"));
    }
    if hits.len() > 1 {
        return Look::Bad(format!("'{word}' is ambiguous; try {}", tries.join(", ")));
    }
    if icmp6.is_some() {
        tries.push(format!("'icmp6 type {word}'"));
    }
    let mut ctx: Vec<String> = Vec::new();
    if let Some(p) = proto {
        ctx.push(names::proto_name(p));
    }
    if ty != Ty::None {
        ctx.push(type_name(ty));
    }
    Look::Bad(format!(
        "'{word}' is meaningless with '{}'; try {}",
        ctx.join(" "),
        tries.join(", ")
    ))
}

fn parse_int(w: &str) -> Option<u32> {
    parse_i64(w)
        .filter(|&v| (i32::MIN as i64..=u32::MAX as i64).contains(&v))
        .map(|v| v as u32)
}

/// True for tokens that end a test rather than supply its value.
fn structural(w: &str) -> bool {
    matches!(
        w,
        "and" | "or" | "&&" | "||" | "(" | ")" | "?" | ":" | "not" | "!" | "[" | "]" | "," | ";"
    )
}

struct Parser<'a> {
    w: Vec<&'a str>,
    pos: usize,
    prev: Prim,
    depth: u32,
    /// The element has IPv6 tests (see [`Prim::compile`]).
    mixed: bool,
    /// An IPv6 test was seen.
    saw6: bool,
    /// The word a test's error is about, when not the current one.
    fail: Option<usize>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a str> {
        self.w.get(self.pos).copied()
    }

    fn at(&self, s: &str) -> bool {
        self.peek() == Some(s)
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(String::from("expression nested too deeply"));
        }
        Ok(())
    }

    /// expr ::= orexpr [ "?" expr ":" expr ]
    fn expr(&mut self) -> Result<Option<Expr>, String> {
        self.enter()?;
        let Some(first) = self.orexpr()? else {
            self.depth -= 1;
            return Ok(None);
        };
        let mut chain = vec![first];
        while self.at("?") {
            self.pos += 1;
            let yes = self.expr()?;
            let (Some(yes), true) = (yes, self.at(":")) else {
                return Err(String::from("missing ':' in ternary expression"));
            };
            self.pos += 1;
            let no = self
                .orexpr()?
                .ok_or_else(|| String::from("missing expression after ':'"))?;
            chain.push(yes);
            chain.push(no);
        }
        // c0 ? a0 : c1 ? a1 : e  ==  c0 ? a0 : (c1 ? a1 : e)
        let mut acc = chain.pop().unwrap_or(Expr::Const(false));
        while chain.len() >= 2 {
            let yes = chain.pop().unwrap_or(Expr::Const(false));
            let cond = chain.pop().unwrap_or(Expr::Const(false));
            acc = Expr::Ternary(cond.into(), yes.into(), acc.into());
        }
        self.depth -= 1;
        Ok(Some(acc))
    }

    /// orexpr ::= term { ("or" | "||") term }
    fn orexpr(&mut self) -> Result<Option<Expr>, String> {
        let Some(first) = self.term()? else {
            return Ok(None);
        };
        let mut v = vec![first];
        while self.at("or") || self.at("||") {
            let op = self.w[self.pos];
            self.pos += 1;
            match self.term()? {
                Some(t) => v.push(t),
                None => return Err(format!("missing expression after '{op}'")),
            }
        }
        Ok(Some(Expr::or(v)))
    }

    /// term ::= factor { ["and" | "&&"] factor }
    fn term(&mut self) -> Result<Option<Expr>, String> {
        let Some(first) = self.factor()? else {
            return Ok(None);
        };
        let mut v = vec![first];
        loop {
            let explicit = self.at("and") || self.at("&&");
            let op = self.peek().unwrap_or("");
            if explicit {
                self.pos += 1;
            }
            match self.factor()? {
                Some(f) => v.push(f),
                None if explicit => return Err(format!("missing expression after '{op}'")),
                None => break,
            }
        }
        Ok(Some(Expr::and(v)))
    }

    /// factor ::= ("not" | "!") factor | "(" expr ")" | test
    fn factor(&mut self) -> Result<Option<Expr>, String> {
        match self.peek() {
            Some(w @ ("not" | "!")) => {
                self.pos += 1;
                self.enter()?;
                let f = self
                    .factor()?
                    .ok_or_else(|| format!("missing expression after '{w}'"))?;
                self.depth -= 1;
                Ok(Some(f.negate(false)))
            }
            Some("(") => {
                self.pos += 1;
                let e = self
                    .expr()?
                    .ok_or_else(|| String::from("missing expression after '('"))?;
                if !self.at(")") {
                    return Err(match self.peek() {
                        Some(w) => format!("missing ')' before '{w}'"),
                        None => String::from("missing ')'"),
                    });
                }
                self.pos += 1;
                Ok(Some(e))
            }
            _ => self.test(),
        }
    }

    /// test ::= "true" | "false" | quals ["[" POS[:LEN] "]"] ["&" MASK] [relop] [data]
    fn test(&mut self) -> Result<Option<Expr>, String> {
        let Some(first) = self.peek() else {
            return Ok(None);
        };
        if matches!(first, ")" | "||" | "or" | "?" | ":") {
            return Ok(None);
        }
        if first == "true" || first == "false" {
            self.pos += 1;
            return Ok(Some(Expr::Const(first == "true")));
        }
        let first_pos = self.pos;
        let mut prim = Prim::default();
        let mut header = 0u8;
        let mut negated = false;
        while let Some(wd) = self.peek() {
            match lookup(wd, Ty::None, None) {
                Look::Type(Some(t)) => {
                    let t = match t {
                        Ty::Field(F_ICMP_TYPE) if prim.proto == Some(ICMP6) => {
                            Ty::Field(F_ICMP6_TYPE)
                        }
                        Ty::Field(F_ICMP_CODE) if prim.proto == Some(ICMP6) => {
                            Ty::Field(F_ICMP6_CODE)
                        }
                        t => t,
                    };
                    prim.set_type(t)?;
                    if let Ty::Field(f) = t {
                        if f.proto != 0 {
                            prim.set_proto(f.proto)?;
                        }
                    }
                }
                Look::Found(Data::Proto, p) => {
                    prim.set_proto(p)?;
                    header = icmp6_header(wd, header);
                }
                Look::Type(None) | Look::Unknown => match wd {
                    "src" => {
                        let w1 = self.w.get(self.pos + 1).copied();
                        let w2 = self.w.get(self.pos + 2).copied();
                        if matches!(w2, Some("dst" | "dest")) && matches!(w1, Some("and" | "&&")) {
                            prim.set_sd(Sd::And)?;
                            self.pos += 2;
                        } else if matches!(w2, Some("dst" | "dest"))
                            && matches!(w1, Some("or" | "||"))
                        {
                            prim.set_sd(Sd::Or)?;
                            self.pos += 2;
                        } else {
                            prim.set_sd(Sd::Src)?;
                        }
                    }
                    "dst" | "dest" => prim.set_sd(Sd::Dst)?,
                    "ip" | "ether" | "ip6" => {
                        if header != 0 {
                            break;
                        }
                        header = if wd == "ip6" { b'6' } else { wd.as_bytes()[0] };
                    }
                    "not" | "!" => negated = !negated,
                    _ => break,
                },
                _ => break,
            }
            self.pos += 1;
        }
        if self.pos != first_pos {
            self.prev = Prim::default();
        }
        if self.prev.data == Data::Ether {
            header = b'e';
        }

        let more = |p: &Parser, at: usize| at + 1 < p.w.len();
        if self.at("[") && more(self, self.pos) && self.pos > first_pos && prim.ty == Ty::None {
            self.brackets(&mut prim, header)?;
        }

        let mut mask_kind = MaskKind::None;
        let (mut mask_u, mut mask_e) = (0u32, [0u8; 6]);
        if self.at("&") && more(self, self.pos) {
            let m = self.w[self.pos + 1];
            if let Some(v) = parse_int(m) {
                mask_kind = MaskKind::Int;
                mask_u = v;
            } else if let (Some(a), true) = (Ipv4::parse(m), header != b'e') {
                mask_kind = MaskKind::Host;
                mask_u = a.to_u32();
            } else if let (Some(e), true) = (EtherAddr::parse(m), header != b'i') {
                mask_kind = MaskKind::Ether;
                mask_e = e.0;
            } else {
                self.fail = Some(self.pos + 1);
                return Err(format!("expected a mask after '&', got '{m}'"));
            }
            self.pos += 2;
            if mask_kind != MaskKind::Ether && mask_u == 0 {
                return Err(String::from("zero mask ignored"));
            }
        }

        if more(self, self.pos) || self.pos + 1 == self.w.len() {
            let op = self.peek().unwrap_or("");
            let known = match op {
                "=" | "==" => true,
                "!=" => {
                    prim.negated = true;
                    true
                }
                ">" => {
                    prim.op = Op::Gt;
                    true
                }
                "<" => {
                    prim.op = Op::Lt;
                    true
                }
                ">=" => {
                    prim.op = Op::Lt;
                    prim.negated = true;
                    true
                }
                "<=" => {
                    prim.op = Op::Gt;
                    prim.negated = true;
                    true
                }
                _ => false,
            };
            if known {
                self.pos += 1;
                if self.pos >= self.w.len() {
                    return Err(format!("missing value after '{op}'"));
                }
            }
        }

        let mut bad_word = None;
        if let Some(wd) = self.peek() {
            self.pos += 1;
            // `icmp6 type echo or echo-reply`: the name continues the
            // previous test (Click's ICMP names need no such help).
            let (ty, proto) = match self.prev.ty {
                Ty::Field(F_ICMP6_TYPE) if self.pos - 1 == first_pos => {
                    (self.prev.ty, self.prev.proto)
                }
                _ => (prim.ty, prim.proto),
            };
            match lookup(wd, ty, proto) {
                Look::Bad(msg) => {
                    self.fail = Some(self.pos - 1);
                    return Err(msg);
                }
                Look::Found(d, v) => {
                    prim.data = d;
                    prim.u = v;
                    header = icmp6_header(wd, header);
                }
                Look::Type(_) | Look::Unknown => {
                    if let Some(v) = parse_int(wd) {
                        prim.data = Data::Int;
                        prim.u = v;
                    } else if let (Some(a), true) = (Ipv4::parse(wd), header != b'e') {
                        prim.u = a.to_u32();
                        let m = self.w.get(self.pos + 1).and_then(|m| Ipv4::parse(m));
                        if let (true, Some(m)) = (self.at("mask"), m) {
                            self.pos += 2;
                            prim.mask = m.to_u32();
                            prim.data = Data::Net;
                        } else {
                            prim.data = Data::Host;
                        }
                    } else if let (Some(p), true) = (prefix(wd), header != b'e') {
                        prim.u = p.addr.to_u32();
                        prim.mask = p.mask();
                        prim.data = Data::Net;
                    } else if let (Some(e), true) = (EtherAddr::parse(wd), header != b'i') {
                        prim.ether = e.0;
                        prim.data = Data::Ether;
                    } else if let (Some((a, m, host)), true) = (ip6_prefix(wd), header != b'e') {
                        prim.a6 = a & m;
                        prim.m6 = m;
                        prim.data = if host { Data::Host6 } else { Data::Net6 };
                    } else {
                        if prim.op != Op::Eq || prim.negated {
                            self.fail = Some(self.pos - 1);
                            return Err(format!("dangling operator near '{wd}'"));
                        }
                        if !structural(wd) {
                            bad_word = Some(wd);
                        }
                        self.pos -= 1;
                    }
                }
            }
        }

        if self.pos == first_pos {
            return Err(match self.peek() {
                Some(w) => format!("expected a test, got '{w}'"),
                None => String::from("missing expression"),
            });
        }

        let prev = self.prev;
        if let Err(e) = prim.check(&prev, header, mask_kind, mask_u, mask_e, bad_word) {
            // About the word that was no value, else the test just read:
            // point at its last word.
            self.fail = Some(if bad_word.is_some() {
                self.pos
            } else {
                self.pos.saturating_sub(1).max(first_pos)
            });
            return Err(e);
        }
        let e = prim.compile(self.mixed);
        self.saw6 |= prim.fam == Fam::V6;
        self.prev = prim;
        Ok(Some(if negated { e.negate(false) } else { e }))
    }

    /// `[POS]`, `[POS:LEN]` or `[POS,END]` after `ip`, `tcp`, `udp`, `transp`...
    fn brackets(&mut self, prim: &mut Prim, header: u8) -> Result<(), String> {
        let start = self.pos + 1;
        let Some(close) = self.w[start..].iter().position(|&w| w == "]") else {
            return Err(String::from("missing ']'"));
        };
        let inner: String = self.w[start..start + close].concat();
        // Errors in the brackets point at the '['.
        self.fail = Some(start - 1);
        self.pos = start + close + 1;
        let syntax = || String::from("syntax error after '[', expected '[POS]' or '[POS:LEN]'");
        let int = |s: &str| parse_i64(s).filter(|v| (0..=0xffff).contains(v));
        let (pos, len) = if let Some((a, b)) = inner.split_once(':').filter(|(_, b)| !b.is_empty())
        {
            (int(a).ok_or_else(syntax)?, int(b).ok_or_else(syntax)?)
        } else if let Some((a, b)) = inner.split_once(',').filter(|(_, b)| !b.is_empty()) {
            let (a, b) = (int(a).ok_or_else(syntax)?, int(b).ok_or_else(syntax)?);
            (a, b - a + 1)
        } else {
            (int(&inner).ok_or_else(syntax)?, 1)
        };
        if !(1..=4).contains(&len) {
            return Err(String::from(
                "LEN in '[POS:LEN]' out of range, should be between 1 and 4",
            ));
        }
        let (bit, bits) = (pos as u32 * 8, len as u32 * 8);
        if bit & !31 != (bit + bits - 1) & !31 {
            return Err(format!("field [{pos}:{len}] does not fit in a single word"));
        }
        self.fail = None;
        let proto = prim.proto.unwrap_or(0);
        prim.set_type(Ty::Field(Field {
            proto,
            bit,
            len: bits,
            ip6: header == b'6' && proto == 0,
        }))
    }
}

/// An IPv6 address (`true`) or prefix `A/LEN`, as value and mask.
fn ip6_prefix(w: &str) -> Option<(u128, u128, bool)> {
    let (a, len) = match w.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u32>().ok().filter(|&l| l <= 128)?)),
        None => (w, None),
    };
    let a = u128::from(a.parse::<core::net::Ipv6Addr>().ok()?);
    let m = match len {
        Some(0) => 0,
        Some(l) => u128::MAX << (128 - l),
        None => u128::MAX,
    };
    Some((a, m, len.is_none()))
}

/// An address prefix `A/LEN`, `A/MASK` or `A.B/LEN` (the slash is required).
fn prefix(w: &str) -> Option<Ipv4Prefix> {
    if w.contains('/') {
        Ipv4Prefix::parse(w)
    } else {
        None
    }
}

/// A parse error: the message and the byte offset in the rule's text of
/// the word where parsing stopped (the text's length: at its end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    /// What is wrong.
    pub message: String,
    /// Byte offset in the text parsed.
    pub offset: usize,
}

/// Parses tokens; an error carries the index of the token where it was
/// found (the token count: at the end).
fn parse_tokens(words: &[&str], mixed: bool) -> Result<(Expr, bool), (String, usize)> {
    if words.is_empty() || (words.len() == 1 && matches!(words[0], "-" | "any" | "all")) {
        return Ok((Expr::Const(true), false));
    }
    let mut p = Parser {
        w: words.to_vec(),
        pos: 0,
        prev: Prim::default(),
        depth: 0,
        mixed,
        saw6: false,
        fail: None,
    };
    let at = |p: &Parser| p.fail.unwrap_or(p.pos).min(words.len());
    let e = p.expr().map_err(|m| (m, at(&p)))?;
    if let Some(w) = p.peek() {
        return Err((format!("garbage after expression at '{w}'"), p.pos));
    }
    match e {
        Some(e) => Ok((e, p.saw6)),
        None => Err((String::from("missing expression"), at(&p))),
    }
}

/// Parses one IPFilter expression (everything after the action word),
/// for an element without IPv6 tests.
pub fn parse_expr(words: &[&str]) -> Result<Expr, String> {
    parse_tokens(words, false)
        .map(|(e, _)| e)
        .map_err(|(m, _)| m)
}

/// Byte offset of token `i` of `words` (slices of `text`), or the end.
fn offset_of(text: &str, words: &[&str], i: usize) -> usize {
    words.get(i).map_or(text.trim_end().len(), |w| {
        w.as_ptr() as usize - text.as_ptr() as usize
    })
}

/// Parses an IPClassifier expression; `mixed`: the element has IPv6
/// tests (see [`parse_rule`]). Also says whether this one has.
pub fn parse_expr_text(text: &str, mixed: bool) -> Result<(Expr, bool), ExprError> {
    let words = tokenize(text);
    parse_tokens(&words, mixed).map_err(|(message, i)| ExprError {
        message,
        offset: offset_of(text, &words, i),
    })
}

/// What an IPFilter rule does with matching packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Emit on this output.
    Output(usize),
    /// Drop (`deny`, `drop`).
    Drop,
}

/// Parses an IPFilter rule `ACTION EXPR` for an element with `noutputs`
/// outputs and no IPv6 tests.
pub fn parse_rule(rule: &str, noutputs: usize) -> Result<(Action, Expr), String> {
    parse_rule_in(rule, noutputs, false)
        .map(|(a, e, _)| (a, e))
        .map_err(|e| e.message)
}

/// Parses an IPFilter rule `ACTION EXPR` for an element with `noutputs`
/// outputs. `mixed`: some rule of the element has IPv6 tests, so IPv4
/// tests check the IP version and tests of either version apply to both
/// (parse every rule once without, and again with it if any rule said it
/// had IPv6 tests). Also says whether this rule has.
pub fn parse_rule_in(
    rule: &str,
    noutputs: usize,
    mixed: bool,
) -> Result<(Action, Expr, bool), ExprError> {
    let words = tokenize(rule);
    let fail = |message: String| ExprError {
        message,
        offset: offset_of(rule, &words, 0),
    };
    let Some(&slot) = words.first() else {
        return Err(fail(String::from("empty pattern")));
    };
    let action = match slot {
        "allow" => {
            if noutputs == 0 {
                return Err(fail(String::from(
                    "'allow' is meaningless, element has zero outputs",
                )));
            }
            Action::Output(0)
        }
        "deny" | "drop" => Action::Drop,
        w => match parse_i64(w) {
            Some(n) if n >= 0 && (n as u64) < noutputs as u64 => Action::Output(n as usize),
            Some(n) => return Err(fail(format!("slot '{n}' out of range"))),
            None => {
                return Err(fail(format!(
                    "unknown slot ID '{w}' (expected allow, deny, drop or an output number)"
                )))
            }
        },
    };
    let (expr, ip6) = parse_tokens(&words[1..], mixed).map_err(|(message, i)| ExprError {
        message,
        offset: offset_of(rule, &words, i + 1),
    })?;
    Ok((action, expr, ip6))
}

#[cfg(test)]
#[path = "expr_tests.rs"]
mod tests;
