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
//! matching no rule are dropped.
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
use super::compile::expr::{parse_rule, Action};
use super::compile::{ip_view, Program, Rule};
use crate::batch::Batch;
use crate::confparse::{unquote, Args};
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
    Ok(Box::new(IPFilter::new(
        &args.rest_raw_resolved(crate::confparse::Context::Rules),
        cx.noutputs(),
    )?))
}

/// Parses each argument, unquoted, into a rule with `parse(index, text)`, as
/// IPFilter and IPClassifier take them; errors name the argument.
pub(super) fn parse_each(
    args: &[String],
    parse: impl Fn(usize, &str) -> Result<Rule, ConfigError>,
) -> Result<Vec<Rule>, ConfigError> {
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            let text = unquote(a.trim());
            if text.trim().is_empty() {
                return Err(
                    ConfigError::new(ErrorKind::Missing, format!("empty pattern {i}"))
                        .at(ArgPos::Index(i)),
                );
            }
            parse(i, &text).map_err(|e| ConfigError::bad_arg(i, format!("pattern {i}: {e}")))
        })
        .collect()
}

/// An IP filter (also the engine of IPClassifier).
pub struct IPFilter {
    prog: Program,
}

impl IPFilter {
    /// Compiles `ACTION EXPR` rules for an element with `noutputs` outputs.
    pub fn new(rules: &[String], noutputs: usize) -> Result<IPFilter, ConfigError> {
        let compiled = parse_each(rules, |_, text| {
            let (action, expr) = parse_rule(text, noutputs)?;
            let output = match action {
                Action::Output(o) => Some(o),
                Action::Drop => None,
            };
            Ok(Rule { expr, output })
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
