//! `Classifier(PATTERN_0, ..., PATTERN_N-1)`: sends packets to the output of the first byte pattern they match.
//!
//! # Ports
//! One push input; one output per pattern (the number of patterns must
//! equal the number of outputs).
//!
//! # Processing
//! Push. A pattern is a space-separated list of clauses, all of which must
//! match: `OFFSET/VALUE` or `OFFSET/VALUE%MASK`, OFFSET a decimal byte
//! offset from the start of the packet data, VALUE and MASK hex digits
//! (`?` is a don't-care nibble; MASK has as many digits as VALUE). `!`
//! before a clause negates it. `-` (or an empty pattern) matches every
//! packet. A clause over bytes past the end of the packet is false (so its
//! `!` form is true). Packets matching no pattern are dropped.
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
//! FromDump(in.pcap) -> c :: Classifier(12/0800, 12/0806 20/0001, -);
//! c[0] -> Strip(14) -> CheckIPHeader -> Discard;
//! c[1] -> Discard;
//! c[2] -> Discard;
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::compile::dispatch::dispatch;
use super::compile::pattern::parse_pattern;
use super::compile::{Program, Rule};
use crate::batch::Batch;
use crate::confparse::Args;
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::Packet;
use crate::router::{ConfigCx, Ctx};

/// The `Classifier` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Classifier",
    ports: "1/-",
    processing: "h/h",
    phase: 0,
    make,
};

fn make(args: &mut Args, cx: &ConfigCx) -> Result<Box<dyn Element>, ConfigError> {
    Ok(Box::new(Classifier::new(&args.rest_raw(), cx.noutputs())?))
}

/// Checks that there is one argument per output port, as Classifier and
/// IPClassifier require.
pub(super) fn one_per_output(args: &[String], noutputs: usize) -> Result<(), ConfigError> {
    if args.len() != noutputs {
        return Err(ConfigError::conflict(format!(
            "need {noutputs} arguments, one per output port (got {})",
            args.len()
        )));
    }
    Ok(())
}

/// Byte-pattern classifier.
pub struct Classifier {
    prog: Program,
}

impl Classifier {
    /// Compiles `patterns` for an element with `noutputs` outputs.
    pub fn new(patterns: &[String], noutputs: usize) -> Result<Classifier, ConfigError> {
        one_per_output(patterns, noutputs)?;
        let rules = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| {
                parse_pattern(p)
                    .map(|expr| Rule {
                        expr,
                        output: Some(i),
                    })
                    .map_err(|e| ConfigError::bad_arg(i, format!("pattern {i}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Classifier {
            prog: Program::new(rules),
        })
    }

    /// The output a packet goes to (`None`: dropped).
    #[inline]
    pub fn classify(&self, p: &Packet) -> Option<usize> {
        self.prog.classify_data(p.data())
    }
}

impl Element for Classifier {
    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        match self.classify(&p) {
            Some(o) => cx.push(o, p),
            None => cx.kill(p),
        }
    }

    fn push_batch(&mut self, cx: &Ctx, _port: usize, b: Batch) {
        let prog = &self.prog;
        dispatch(cx, b, |p| prog.classify_data(p.data()));
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("program")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.prog.unparse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(pats: &[&str]) -> Result<Classifier, ConfigError> {
        let v: Vec<String> = pats.iter().map(|s| String::from(*s)).collect();
        Classifier::new(&v, pats.len())
    }

    fn frame(ethertype: u16, len: usize) -> Packet {
        let mut d = alloc::vec![0u8; len];
        if len >= 14 {
            d[12..14].copy_from_slice(&ethertype.to_be_bytes());
        }
        Packet::from_slice(&d)
    }

    #[test]
    fn first_matching_pattern_wins() {
        let k = c(&["12/0800", "12/0806 20/0001", "12/0806", "-"]).unwrap();
        assert_eq!(k.classify(&frame(0x0800, 60)), Some(0));
        let mut arp = frame(0x0806, 60);
        arp.data_mut()[21] = 1;
        assert_eq!(k.classify(&arp), Some(1));
        arp.data_mut()[21] = 2;
        assert_eq!(k.classify(&arp), Some(2));
        assert_eq!(k.classify(&frame(0x86dd, 60)), Some(3));
        assert_eq!(k.classify(&frame(0, 4)), Some(3));
    }

    #[test]
    fn no_match_drops_and_short_packets_fail_clauses() {
        let k = c(&["12/0800", "!12/0800 !12/0806"]).unwrap();
        assert_eq!(k.classify(&frame(0x0800, 14)), Some(0));
        // 13 bytes: the clause needs byte 13, so it is false and its
        // negations true.
        assert_eq!(k.classify(&frame(0, 13)), Some(1));
        let k = c(&["12/0800"]).unwrap();
        assert_eq!(k.classify(&frame(0x0806, 60)), None);
        assert_eq!(k.classify(&frame(0, 13)), None);
    }

    #[test]
    fn many_patterns_and_errors() {
        let pats: Vec<String> = (0..300).map(|i| format!("14/{:04x} 23/11", i)).collect();
        let k = Classifier::new(&pats, 300).unwrap();
        let mut p = frame(0x0800, 60);
        p.data_mut()[14..16].copy_from_slice(&(257u16).to_be_bytes());
        p.data_mut()[23] = 0x11;
        assert_eq!(k.classify(&p), Some(257));
        p.data_mut()[23] = 0x06;
        assert_eq!(k.classify(&p), None);
        assert_eq!(
            c(&["12/080"]).err().unwrap(),
            "pattern 0: value has odd number of hex digits"
        );
        assert_eq!(
            Classifier::new(&[String::from("-")], 2).err().unwrap(),
            "need 2 arguments, one per output port (got 1)"
        );
    }
}
