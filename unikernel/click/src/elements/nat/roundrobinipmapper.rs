//! `RoundRobinIPMapper(PATTERN1, ..., PATTERNn)`: an IPMapper that gives
//! new flows to its patterns in turn (an L4 load balancer's backends).
//!
//! # Ports
//! None.
//!
//! # Processing
//! None by itself. A rewriter input whose spec is this element's name asks
//! it for each new flow; it tries the patterns round robin, starting after
//! the one used last, and returns the first that maps the flow. Each
//! PATTERN is `SADDR SPORT DADDR DPORT FOUT ROUT` or `NAME FOUT ROUT`. Later
//! packets of a flow follow its mapping, so a connection stays on its
//! backend.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None.
//!
//! # Example
//! ```text
//! rr :: RoundRobinIPMapper(- - 10.0.0.1 - 0 1, - - 10.0.0.2 - 0 1);
//! lb :: IPRewriter(rr, drop);
//! ```

use crate::error::{ConfigError, ErrorKind};
use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;

use super::flowid::FlowId;
use super::rng::Rng;
use super::spec::{parse_with_ports, IpMapper, Mapped, SharedMapper, SharedPattern};
use crate::confparse::{split_words, Args};
use crate::element::{Element, ElementClass};
use crate::router::ConfigCx;

/// The `RoundRobinIPMapper` class.
pub static CLASS: ElementClass = ElementClass {
    name: "RoundRobinIPMapper",
    ports: "0/0",
    processing: "a/a",
    phase: -1,
    make,
};

fn make(args: &mut Args, cx: &ConfigCx) -> Result<Box<dyn Element>, ConfigError> {
    let lines = args.rest_raw_resolved(crate::confparse::Context::Rules);
    if lines.is_empty() {
        return Err(ConfigError::new(ErrorKind::Missing, "no patterns given"));
    }
    let mut pats = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let w = split_words(l);
        let words: Vec<&str> = w.iter().map(|s| s.as_str()).collect();
        let pat = parse_with_ports(&words, cx)
            .map_err(|e| ConfigError::bad_arg(i, format!("pattern {i}: {e}")))?;
        pats.push(pat);
    }
    Ok(Box::new(RoundRobinIpMapper {
        rr: Rc::new(RefCell::new(RoundRobin { pats, last: 0 })),
    }))
}

/// The mapper's state: patterns and whose turn it is.
pub struct RoundRobin {
    pats: Vec<(SharedPattern, u16, u16)>,
    last: usize,
}

impl IpMapper for RoundRobin {
    fn map_flow(
        &mut self,
        flow: &FlowId,
        taken: &dyn Fn(&FlowId) -> bool,
        rng: &mut Rng,
    ) -> Option<Mapped> {
        for _ in 0..self.pats.len() {
            let (p, fout, rout) = &self.pats[self.last];
            self.last = (self.last + 1) % self.pats.len();
            if let Some(f) = p.borrow_mut().rewrite(flow, taken, rng) {
                return Some(Mapped {
                    flow: f,
                    fout: *fout,
                    rout: *rout,
                });
            }
        }
        None
    }

    fn max_outputs(&self) -> (u16, u16) {
        let f = self.pats.iter().map(|p| p.1).max().unwrap_or(0);
        let r = self.pats.iter().map(|p| p.2).max().unwrap_or(0);
        (f, r)
    }
}

/// A `RoundRobinIPMapper` element.
pub struct RoundRobinIpMapper {
    rr: Rc<RefCell<RoundRobin>>,
}

impl RoundRobinIpMapper {
    /// The mapper, shared with the rewriters that name this element.
    pub fn mapper(&self) -> SharedMapper {
        self.rr.clone()
    }
}

impl Element for RoundRobinIpMapper {}
