//! Input specifications: what a rewriter does with a packet of an unknown
//! flow on each input (`drop`, `pass OUT`, `keep FOUT ROUT`,
//! `pattern ... FOUT ROUT`, `pattern NAME FOUT ROUT`, or an IPMapper
//! element's name), and the IPMapper interface.

use alloc::format;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use super::flowid::FlowId;
use super::pattern::Pattern;
use super::rng::Rng;
use crate::confparse::split_words;
use crate::confparse::values::parse_i64;
use crate::element::Element;
use crate::router::ConfigCx;

/// A pattern shared by the rewriters that name it (its sequential cursor
/// is shared too, as in Click).
pub type SharedPattern = Rc<RefCell<Pattern>>;

/// What a mapper chose for a new flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapped {
    /// The rewritten flow.
    pub flow: FlowId,
    /// Output for the forward direction.
    pub fout: u16,
    /// Output for the reply direction.
    pub rout: u16,
}

/// Click's `IPMapper`: chooses the rewrite of new flows for a rewriter
/// input whose spec names the mapper element.
pub trait IpMapper {
    /// Chooses a rewrite for `flow`; `taken(k)` says whether reply key `k`
    /// is in use. `None` drops the packet (a mapping failure).
    fn map_flow(
        &mut self,
        flow: &FlowId,
        taken: &dyn Fn(&FlowId) -> bool,
        rng: &mut Rng,
    ) -> Option<Mapped>;
    /// Largest forward and reply output ports the mapper may choose.
    fn max_outputs(&self) -> (u16, u16);
}

/// A shared mapper.
pub type SharedMapper = Rc<RefCell<dyn IpMapper>>;

/// The kinds of input spec.
#[derive(Clone)]
pub enum SpecKind {
    /// Drop unmapped packets.
    Drop,
    /// Emit unmapped packets unchanged on the spec's forward output.
    NoChange,
    /// Install identity mappings.
    Keep,
    /// Install mappings from a pattern.
    Pattern(SharedPattern),
    /// Ask a mapper element.
    Mapper(SharedMapper),
}

/// One input's spec and its counters.
#[derive(Clone)]
pub struct InputSpec {
    /// What to do.
    pub kind: SpecKind,
    /// Forward output.
    pub fout: u16,
    /// Reply output.
    pub rout: u16,
    /// Live flows made by this input.
    pub count: u32,
    /// Mapping failures on this input.
    pub failures: u32,
}

impl InputSpec {
    /// A spec of `kind` with no flows yet.
    pub fn new(kind: SpecKind, fout: u16, rout: u16) -> Self {
        InputSpec {
            kind,
            fout,
            rout,
            count: 0,
            failures: 0,
        }
    }

    /// Click's line for the `patterns` handler.
    pub fn describe(&self) -> String {
        let mut s = match &self.kind {
            SpecKind::Drop => "<drop>".into(),
            SpecKind::NoChange => "<nochange>".into(),
            SpecKind::Keep => "<keep>".into(),
            SpecKind::Pattern(p) => p.borrow().unparse(),
            SpecKind::Mapper(_) => "<mapper>".into(),
        };
        if self.count != 0 {
            s.push_str(&format!(" [{}]", self.count));
        }
        s
    }
}

fn int(s: &str) -> Option<i64> {
    parse_i64(s)
}

/// Parses `FOUT ROUT`.
pub fn parse_ports(words: &[&str]) -> Result<(u16, u16), String> {
    let f = match words {
        [f, _] => int(f),
        _ => None,
    }
    .and_then(|v| u16::try_from(v).ok())
    .ok_or("bad forward port")?;
    let r = int(words[1])
        .and_then(|v| u16::try_from(v).ok())
        .ok_or("bad reply port")?;
    Ok((f, r))
}

/// Finds pattern `name` among the IPRewriterPatterns elements configured
/// so far.
fn named_pattern(name: &str, cx: &ConfigCx) -> Option<SharedPattern> {
    cx.configured.iter().flatten().find_map(|e| {
        e.downcast_ref::<super::iprewriterpatterns::IpRewriterPatterns>()
            .and_then(|p| p.get(name))
    })
}

/// Parses pattern words followed by `FOUT ROUT` (a single pattern word is
/// a name from IPRewriterPatterns).
pub fn parse_with_ports(
    words: &[&str],
    cx: &ConfigCx,
) -> Result<(SharedPattern, u16, u16), String> {
    if words.len() <= 2 {
        return Err("syntax error".into());
    }
    let (pw, ports) = words.split_at(words.len() - 2);
    let pat = if pw.len() == 1 {
        named_pattern(pw[0], cx).ok_or_else(|| format!("no such pattern '{}'", pw[0]))?
    } else {
        Rc::new(RefCell::new(Pattern::parse(pw)?))
    };
    let (f, r) = parse_ports(ports)?;
    Ok((pat, f, r))
}

/// The mapper an element provides, if it is one.
pub fn as_mapper(e: &dyn Element) -> Option<SharedMapper> {
    e.downcast_ref::<super::roundrobinipmapper::RoundRobinIpMapper>()
        .map(|m| m.mapper())
        .or_else(|| {
            e.downcast_ref::<super::sourceiphashmapper::SourceIpHashMapper>()
                .map(|m| m.mapper())
        })
}

/// Parses input spec `line` for input `input` of an element with `nout`
/// outputs.
pub fn parse_spec(
    line: &str,
    input: usize,
    nout: usize,
    cx: &ConfigCx,
) -> Result<InputSpec, String> {
    let words_owned = split_words(line);
    let words: Vec<&str> = words_owned.iter().map(|s| s.as_str()).collect();
    let pre = |m: &str| format!("input spec {input}: {m}");
    let Some((&word, rest)) = words.split_first() else {
        return Err(pre("empty argument"));
    };
    let in_range = |f: u16, r: u16| (f as usize) < nout && (r as usize) < nout;
    match word {
        "pass" | "passthrough" | "nochange" => {
            let out = match rest {
                [] => 0,
                [o] => int(o)
                    .and_then(|v| u16::try_from(v).ok())
                    .ok_or_else(|| pre("syntax error, expected 'nochange [OUTPUT]'"))?,
                _ => return Err(pre("syntax error, expected 'nochange [OUTPUT]'")),
            };
            if out as usize >= nout {
                return Err(pre("output port out of range"));
            }
            Ok(InputSpec::new(SpecKind::NoChange, out, out))
        }
        "keep" => {
            let (f, r) = parse_ports(rest).map_err(|e| pre(&e))?;
            if !in_range(f, r) {
                return Err(pre("output port out of range"));
            }
            Ok(InputSpec::new(SpecKind::Keep, f, r))
        }
        "drop" | "discard" => {
            if !rest.is_empty() {
                return Err(pre(&format!("syntax error, expected '{word}'")));
            }
            Ok(InputSpec::new(SpecKind::Drop, 0, 0))
        }
        "pattern" | "xpattern" => {
            let (p, f, r) = parse_with_ports(rest, cx).map_err(|e| pre(&e))?;
            if !in_range(f, r) {
                return Err(pre("output port out of range"));
            }
            Ok(InputSpec::new(SpecKind::Pattern(p), f, r))
        }
        _ => match cx.element_index(word) {
            Some(_) => {
                if !rest.is_empty() {
                    return Err(pre("syntax error, expected element name"));
                }
                let m = cx
                    .element(word)
                    .and_then(as_mapper)
                    .ok_or_else(|| pre("element is not an IPMapper"))?;
                let (f, r) = m.borrow().max_outputs();
                if !in_range(f, r) {
                    return Err(pre(&format!("output port out of range in mapper '{word}'")));
                }
                Ok(InputSpec::new(SpecKind::Mapper(m), 0, 0))
            }
            None => Err(pre("unknown specification")),
        },
    }
}
