//! Rewrite patterns: `SADDR SPORT DADDR DPORT` (NAPT) or `SADDR DADDR`
//! (address only), with source port or address ranges allocated
//! sequentially (`#`), randomly (`?`), or preferring the packet's own
//! (default), as Click's `IPRewriterPattern`.

use alloc::format;
use alloc::string::String;

use super::flowid::{wire, Addr, FlowId};
use super::rng::Rng;
use crate::confparse::values::parse_i64;
use crate::confparse::{Ipv4, Ipv4Prefix};

/// A parsed pattern and its allocation cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    saddr: [u8; 4],
    sport: u16,
    daddr: [u8; 4],
    dport: u16,
    napt: bool,
    sequential: bool,
    same_first: bool,
    variation: u32,
    /// Next offset tried by sequential allocation.
    pub next: u32,
}

const E_SYNTAX: &str = "syntax error";
const E_SADDR: &str = "bad source address";
const E_SPORT: &str = "bad source port";
const E_DADDR: &str = "bad destination address";
const E_DPORT: &str = "bad destination port";

fn int(s: &str) -> Option<i64> {
    parse_i64(s)
}

/// Strips a trailing `#` (sequential) or `?` (random).
fn variation_suffix(s: &str) -> (&str, Option<bool>) {
    if let Some(r) = s.strip_suffix('#') {
        (r, Some(true))
    } else if let Some(r) = s.strip_suffix('?') {
        (r, Some(false))
    } else {
        (s, None)
    }
}

/// `A-B` or `ADDR/LEN` with an optional suffix: (base, variation, suffix).
fn address_variation(s: &str) -> Option<([u8; 4], u32, Option<bool>)> {
    let (body, suf) = variation_suffix(s);
    if let Some((a, b)) = body.split_once('-') {
        let a = Ipv4::parse(a)?.to_u32();
        let b = Ipv4::parse(b)?.to_u32();
        return (b >= a).then(|| (a.to_be_bytes(), b - a, suf));
    }
    if !body.contains('/') {
        return None;
    }
    let p = Ipv4Prefix::parse(body)?;
    let addr = p.addr.to_u32();
    if addr == 0 || p.len == 0 {
        return None;
    }
    let mask = p.mask();
    Some(match p.len {
        32 => (addr.to_be_bytes(), 0, suf),
        31 => ((addr & mask).to_be_bytes(), 1, suf),
        // The network and broadcast addresses are never handed out.
        _ => (((addr & mask) | 1).to_be_bytes(), !mask - 2, suf),
    })
}

/// `L-H` with an optional suffix: (low, variation, suffix).
fn port_variation(s: &str) -> Option<(u16, u32, Option<bool>)> {
    let (body, suf) = variation_suffix(s);
    let (a, b) = body.split_once('-')?;
    let a = int(a)?;
    let b = int(b)?;
    (a >= 0 && b >= a && b < 65536).then(|| (a as u16, (b - a) as u32, suf))
}

fn single_port(s: &str) -> Option<u16> {
    int(s).filter(|p| (1..65536).contains(p)).map(|p| p as u16)
}

impl Pattern {
    /// Parses the words of an inline pattern (two to four words).
    pub fn parse(words: &[&str]) -> Result<Pattern, String> {
        if words.len() < 2 || words.len() > 4 {
            return Err(E_SYNTAX.into());
        }
        let mut p = Pattern {
            saddr: [0; 4],
            sport: 0,
            daddr: [0; 4],
            dport: 0,
            napt: words.len() >= 3,
            sequential: false,
            same_first: true,
            variation: 0,
            next: 0,
        };
        let apply_suffix = |p: &mut Pattern, suf: Option<bool>| match suf {
            Some(true) => {
                p.sequential = true;
                p.same_first = false;
            }
            Some(false) => p.same_first = false,
            None => {}
        };
        let w0 = words[0];
        if w0 != "-" {
            if let Some(a) = Ipv4::parse(w0) {
                p.saddr = a.0;
            } else if let Some((a, v, suf)) = address_variation(w0) {
                p.saddr = a;
                p.variation = v;
                apply_suffix(&mut p, suf);
            } else {
                return Err(E_SADDR.into());
            }
        }
        let mut i = 0;
        if words.len() >= 3 {
            // Click's three-word form is SADDR DADDR SPORT.
            let si = if words.len() == 3 { 2 } else { 1 };
            let w = words[si];
            if w != "-" {
                if let Some(sp) = single_port(w) {
                    p.sport = sp;
                } else if let Some((lo, v, suf)) = port_variation(w) {
                    p.sport = lo;
                    p.variation = v;
                    apply_suffix(&mut p, suf);
                } else {
                    return Err(E_SPORT.into());
                }
            }
            i = if words.len() == 3 { 0 } else { 1 };
        }
        i += 1;
        let w = words[i];
        if w != "-" {
            p.daddr = Ipv4::parse(w).ok_or(E_DADDR)?.0;
        }
        if words.len() == 4 {
            let w = words[i + 1];
            if w != "-" {
                p.dport = single_port(w).ok_or(E_DPORT)?;
            }
        }
        Ok(p)
    }

    /// Rewrites `flow`; `taken(k)` says whether reply key `k` is in use.
    /// `None` when no port or address in the range is free.
    pub fn rewrite(
        &mut self,
        flow: &FlowId,
        taken: &dyn Fn(&FlowId) -> bool,
        rng: &mut Rng,
    ) -> Option<FlowId> {
        let mut r = *flow;
        if self.saddr != [0; 4] {
            r.saddr = self.saddr;
        }
        if self.sport != 0 {
            r.sport = wire(self.sport);
        }
        if self.daddr != [0; 4] {
            r.daddr = self.daddr;
        }
        if self.dport != 0 {
            r.dport = wire(self.dport);
        }
        if self.variation == 0 {
            return Some(r);
        }
        let top = self.variation;
        let base = if self.napt {
            u32::from(self.sport)
        } else {
            u32::from_be_bytes(self.saddr)
        };
        let mut lookup = r.reverse();
        let candidate = |lookup: &mut FlowId, v: u32| {
            if self.napt {
                lookup.dport = wire((base + v) as u16);
            } else {
                lookup.daddr = (base + v).to_be_bytes();
            }
        };
        let mut found = None;
        // Click compares the packet's source port with the range base even
        // for address ranges, which never matches; only NAPT prefers the
        // packet's own port.
        if self.same_first && self.napt {
            let v = u32::from(flow.sport_host()).wrapping_sub(base);
            if v <= top {
                lookup.dport = flow.sport;
                if !taken(&lookup) {
                    found = Some(v);
                }
            }
        }
        if found.is_none() {
            let mut v = if self.sequential {
                if self.next > top {
                    0
                } else {
                    self.next
                }
            } else {
                rng.range(0, top)
            };
            for _ in 0..=top {
                candidate(&mut lookup, v);
                if !taken(&lookup) {
                    found = Some(v);
                    break;
                }
                v = if v == top { 0 } else { v + 1 };
            }
        }
        let v = found?;
        if self.napt {
            r.sport = lookup.dport;
        } else {
            r.saddr = lookup.daddr;
        }
        self.next = v.wrapping_add(1);
        Some(r)
    }

    /// Click's text for the `patterns` handler.
    pub fn unparse(&self) -> String {
        let mut s = if !self.napt && self.variation != 0 {
            let hi = u32::from_be_bytes(self.saddr) + self.variation;
            format!("{}-{}", Addr(self.saddr), Addr(hi.to_be_bytes()))
        } else if self.saddr != [0; 4] {
            format!("{}", Addr(self.saddr))
        } else {
            "-".into()
        };
        if self.napt {
            if self.sport == 0 {
                s.push_str(" -");
            } else if self.variation != 0 {
                s.push_str(&format!(
                    " {}-{}",
                    self.sport,
                    u32::from(self.sport) + self.variation
                ));
            } else {
                s.push_str(&format!(" {}", self.sport));
            }
        }
        if self.daddr != [0; 4] {
            s.push_str(&format!(" {}", Addr(self.daddr)));
        } else {
            s.push_str(" -");
        }
        if self.napt {
            if self.dport == 0 {
                s.push_str(" -");
            } else {
                s.push_str(&format!(" {}", self.dport));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use core::cell::RefCell;

    fn p(s: &str) -> Result<Pattern, String> {
        let w: alloc::vec::Vec<&str> = s.split_whitespace().collect();
        Pattern::parse(&w)
    }

    #[test]
    fn parse_errors() {
        assert_eq!(p("1.2.3.4 456-19 - -").unwrap_err(), E_SPORT);
        assert_eq!(p("1.2.3.4 1x - -").unwrap_err(), E_SPORT);
        assert_eq!(p("1.2.3.4 1-65536 - -").unwrap_err(), E_SPORT);
        assert_eq!(p("1.2.3.4 0 - -").unwrap_err(), E_SPORT);
        assert_eq!(p("1.2.3.x 1 - -").unwrap_err(), E_SADDR);
        assert_eq!(p("- 1 1.2.3 -").unwrap_err(), E_DADDR);
        assert_eq!(p("- 1 - 0").unwrap_err(), E_DPORT);
        assert_eq!(p("-").unwrap_err(), E_SYNTAX);
        assert_eq!(p("- - - - -").unwrap_err(), E_SYNTAX);
        assert!(p("1.2.3.4 1024-65535# - -").is_ok());
        assert!(p("1.2.3.100-1.2.3.110# -").is_ok());
        assert_eq!(p("1.2.3.0/24 -").unwrap().unparse(), "1.2.3.1-1.2.3.254 -");
        assert_eq!(
            p("1.2.3.4 1024-2047 - 80").unwrap().unparse(),
            "1.2.3.4 1024-2047 - 80"
        );
        assert_eq!(p("- - - -").unwrap().unparse(), "- - - -");
    }

    #[test]
    fn sequential_reuses_ports_for_other_remotes() {
        let mut pat = p("1.2.3.4 1024-1026# - -").unwrap();
        let taken = RefCell::new(BTreeSet::new());
        let mut rng = Rng::new(1);
        let mut go = |src: u8, sport: u16, dst: u8| {
            let f = FlowId::new([10, 0, 0, src], sport, [9, 9, 9, dst], 1);
            let t = |k: &FlowId| {
                taken
                    .borrow()
                    .contains(&(k.saddr, k.sport, k.daddr, k.dport))
            };
            let r = pat.rewrite(&f, &t, &mut rng);
            if let Some(r) = r {
                let k = r.reverse();
                taken
                    .borrow_mut()
                    .insert((k.saddr, k.sport, k.daddr, k.dport));
            }
            r.map(|r| r.sport_host())
        };
        assert_eq!(go(1, 5, 1), Some(1024));
        assert_eq!(go(2, 5, 1), Some(1025));
        // Another remote endpoint: the cursor moves on; ports are free
        // per remote, so 1024 comes round again.
        assert_eq!(go(3, 5, 2), Some(1026));
        assert_eq!(go(4, 5, 2), Some(1024));
        assert_eq!(go(5, 5, 1), Some(1026));
        assert_eq!(go(6, 5, 1), None);
    }

    #[test]
    fn prefers_own_port_then_random_probe() {
        let mut pat = p("1.2.3.4 1000-1999 - -").unwrap();
        let mut rng = Rng::new(9);
        let f = FlowId::new([10, 0, 0, 1], 1500, [9, 9, 9, 9], 1);
        assert_eq!(
            pat.rewrite(&f, &|_| false, &mut rng).unwrap().sport_host(),
            1500
        );
        let g = FlowId::new([10, 0, 0, 1], 80, [9, 9, 9, 9], 1);
        let r = pat.rewrite(&g, &|_| false, &mut rng).unwrap().sport_host();
        assert!((1000..=1999).contains(&r));
        let f2 = FlowId::new([10, 0, 0, 2], 1500, [9, 9, 9, 9], 1);
        let r2 = pat
            .rewrite(&f2, &|k| k.dport_host() == 1500, &mut rng)
            .unwrap();
        assert_ne!(r2.sport_host(), 1500);
    }
}
