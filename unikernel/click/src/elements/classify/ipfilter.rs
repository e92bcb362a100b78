//! `IPFilter(ACTION_0 EXPR_0, ..., ACTION_N-1 EXPR_N-1)`: filters IP packets with tcpdump-like rules; the first matching rule decides.
//!
//! # Ports
//! One push input; any number of outputs.
//!
//! # Processing
//! Push. Packets need the IP header annotation (CheckIPHeader or
//! MarkIPHeader); the transport header is the IP header plus IHL*4 bytes.
//! ACTION is `allow` (output 0), `deny` or `drop` (discard), or an output
//! number. EXPR is IPClassifier's language: `[src|dst] host A`,
//! `[src|dst] net A/LEN` (or `A mask M`), `[src|dst] [tcp|udp] port P`,
//! `ip proto P` (or `tcp`, `udp`, `icmp` ...), `tcp opt syn` (or `syn`
//! ...), `icmp type T`, `ip vers|hl|id|tos|dscp|ttl|len N`, `ip ect`,
//! `ip ce`, `ip frag`, `ip unfrag`, `tcp win N`, `ip[POS:LEN]`,
//! `transp[POS:LEN]`, `ether host MAC`, `true`, `false`, with relations
//! `= != < > <= >=`, masks `& M`, and `and or not && || ! ( ) ?:`. A test
//! without qualifiers inherits them from the previous one (`src port 80 or
//! 81`). Transport tests only match first fragments. A rule without an
//! expression, or with `-`, `any` or `all`, matches everything. Packets
//! matching no rule are dropped. `ether host` reads the MAC header
//! annotation (kept by Strip), which the packet must have.
//!
//! Beyond Click: `icmp code N`; bare `ip` (IPv4) and `ip6`; and IPv6 tests
//! (the packet's IP header annotation on an IPv6 header): `[src|dst] host
//! A6`, `[src|dst] net A6/LEN` (also bare), `ip6 nxt|hlim|flow|tc|plen N`,
//! `ip6 proto P`, `ip6[POS:LEN]`, `icmp6` with `icmp6 type|code T` (names:
//! `echo`, `echo-reply`, `unreachable`, `packettoobig`, `timeexceeded`,
//! `parameterproblem`, `routersolicit`, `routeradvert`, `neighborsolicit`,
//! `neighboradvert`, `redirect`), and `ip6` before a transport test (`ip6
//! tcp dst port 80`). An IPv6 packet's transport header is the one right
//! after its 40-byte header, tested only when the next header is that
//! protocol: packets with extension headers (fragments included) match no
//! transport test. When any rule of an element has an IPv6 test, IPv4
//! tests also check the IP version, and tests that name no version (`tcp`,
//! `port 80`, `tcp opt syn`, `tcp win`, `transp[...]`) apply to either;
//! otherwise the element is Click's, IPv4 only.
//!
//! Errors point at the word at fault: `file:line:col` of that word in the
//! configuration.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! * `program` (read): the compiled rules and their index (for a few
//!   tests in all, the branching program that replaces it).
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Strip(14) -> CheckIPHeader
//!   -> IPFilter(allow tcp && dst port 80, 1 udp dst port domain, deny all)
//!   -> Discard;
//! ```

use crate::error::{ArgPos, ConfigError, ErrorKind};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::compile::dispatch::dispatch;
use super::compile::expr::{parse_rule_in, Action, ExprError};
use super::compile::{ip_view, Program, Rule};
use crate::batch::Batch;
use crate::confparse::{unquote, Args, Context};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::Packet;
use crate::router::{ConfigCx, Ctx};

/// The `IPFilter` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPFilter",
    ports: "1/-",
    processing: "h/h",
    phase: 0,
    make,
};

fn make(args: &mut Args, cx: &ConfigCx) -> Result<Box<dyn Element>, ConfigError> {
    let f = with_rules(args, |rules| IPFilter::new(rules, cx.noutputs()))?;
    Ok(Box::new(f))
}

/// Runs `build` on the element's rules with `AddressInfo` names resolved.
/// An error's offset in a rule stays only where the rule still reads as
/// written (before the first name replaced); past it, the error points at
/// the rule's start.
pub(super) fn with_rules<T>(
    args: &mut Args,
    build: impl FnOnce(&[String]) -> Result<T, ConfigError>,
) -> Result<T, ConfigError> {
    let raw = args.rest_raw();
    let rules: Vec<String> = raw
        .iter()
        .map(|a| args.resolve_names(a, Context::Rules))
        .collect();
    build(&rules).map_err(|mut e| {
        if let Some(ArgPos::At(i, off)) = e.arg {
            let (r, s) = (raw.get(i), rules.get(i));
            let same = r.zip(s).map_or(0, |(r, s)| {
                r.bytes().zip(s.bytes()).take_while(|(a, b)| a == b).count()
            });
            if r != s && off >= same {
                e.arg = Some(ArgPos::At(i, 0));
            }
        }
        e
    })
}

/// Parses each argument, unquoted, into a rule with
/// `parse(index, text, mixed)`, as IPFilter and IPClassifier take them;
/// `parse` also says whether the rule has IPv6 tests, and if any has, every
/// rule is parsed again with `mixed` set. Errors name the argument and the
/// offset in it of the word at fault.
pub(super) fn parse_each(
    args: &[String],
    parse: impl Fn(usize, &str, bool) -> Result<(Rule, bool), ExprError>,
) -> Result<Vec<Rule>, ConfigError> {
    let pass = |mixed: bool| -> Result<(Vec<Rule>, bool), ConfigError> {
        let mut any6 = false;
        let mut rules = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            let lead = a.len() - a.trim_start().len();
            let trimmed = a.trim();
            let text = unquote(trimmed);
            if text.trim().is_empty() {
                return Err(
                    ConfigError::new(ErrorKind::Missing, format!("empty pattern {i}"))
                        .at(ArgPos::Index(i)),
                );
            }
            // Quotes move the text one byte right (escapes aside).
            let quoted = usize::from(text.len() != trimmed.len() && trimmed.starts_with('"'));
            let (rule, ip6) = parse(i, &text, mixed).map_err(|e| {
                ConfigError::bad_arg(i, format!("pattern {i}: {}", e.message))
                    .at(ArgPos::At(i, lead + quoted + e.offset))
            })?;
            any6 |= ip6;
            rules.push(rule);
        }
        Ok((rules, any6))
    };
    let (rules, any6) = pass(false)?;
    if any6 {
        return Ok(pass(true)?.0);
    }
    Ok(rules)
}

/// An IP filter (also the engine of IPClassifier).
pub struct IPFilter {
    prog: Program,
}

impl IPFilter {
    /// Compiles `ACTION EXPR` rules for an element with `noutputs` outputs.
    pub fn new(rules: &[String], noutputs: usize) -> Result<IPFilter, ConfigError> {
        let compiled = parse_each(rules, |_, text, mixed| {
            let (action, expr, ip6) = parse_rule_in(text, noutputs, mixed)?;
            let output = match action {
                Action::Output(o) => Some(o),
                Action::Drop => None,
            };
            Ok((Rule { expr, output }, ip6))
        })?;
        Ok(IPFilter::from_rules(compiled))
    }

    /// Wraps already parsed rules.
    pub fn from_rules(rules: Vec<Rule>) -> IPFilter {
        IPFilter {
            prog: Program::new(rules),
        }
    }

    /// The output a packet goes to (`None`: dropped).
    #[inline]
    pub fn classify(&self, p: &Packet) -> Option<usize> {
        self.prog.classify(&ip_view(p))
    }

    /// The compiled program.
    pub fn program(&self) -> &Program {
        &self.prog
    }
}

impl Element for IPFilter {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        match self.classify(&p) {
            Some(o) => cx.push(o, p),
            None => cx.kill(p),
        }
    }

    fn push_batch(&mut self, cx: &Ctx, _port: usize, b: Batch) {
        let prog = &self.prog;
        dispatch(cx, b, |p| prog.classify(&ip_view(p)));
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("program")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.prog.unparse()
    }
}
