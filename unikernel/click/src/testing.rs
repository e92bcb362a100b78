//! Helpers for element unit tests: build a router from a flat graph or from
//! source text, a sink that keeps what it receives.

use alloc::boxed::Box;
use alloc::format;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::element::{Element, ElementClass, HandlerDecl};
use crate::error::{Errors, Span};
use crate::host::MemoryHost;
use crate::lang::{Connection, ElementDecl, FlatConfig};
use crate::packet::Packet;
use crate::registry::Registry;
use crate::router::{Ctx, Env, Router};
use crate::time::SimClock;

/// `TestSink`: keeps every packet pushed into any of its inputs, in order,
/// with the input port. Handler `count`.
pub static TEST_SINK: ElementClass = ElementClass {
    name: "TestSink",
    ports: "1-/0",
    processing: "h/h",
    phase: 0,
    make: |_, _| Ok(Box::new(TestSink::default())),
};

/// Keeps packets for inspection.
#[derive(Default)]
pub struct TestSink {
    /// (input port, packet) in arrival order.
    pub got: Vec<(usize, Packet)>,
}

impl Element for TestSink {
    fn push(&mut self, _cx: &Ctx, port: usize, p: Packet) {
        self.got.push((port, p));
    }
    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("count")];
        H
    }
    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.got.len().to_string()
    }
}

/// The standard registry plus `TestSink`.
pub fn registry() -> Registry {
    let mut r = Registry::standard();
    r.add(&TEST_SINK);
    r
}

fn span(line: u32) -> Span {
    Span {
        file: Arc::from("test"),
        line,
        col: 1,
    }
}

/// A flat graph from `(name, class, config)` triples and
/// `(from, from_port, to, to_port)` connections; element `i` is "declared"
/// on line `i + 1`, connection `k` on line `100 + k`.
pub fn flat(elements: &[(&str, &str, &str)], conns: &[(usize, usize, usize, usize)]) -> FlatConfig {
    FlatConfig {
        elements: elements
            .iter()
            .enumerate()
            .map(|(i, (n, c, cfg))| ElementDecl {
                name: n.to_string(),
                class: c.to_string(),
                config: cfg.to_string(),
                span: span(i as u32 + 1),
                config_span: span(i as u32 + 1),
            })
            .collect(),
        connections: conns
            .iter()
            .enumerate()
            .map(|(k, &(from, from_port, to, to_port))| Connection {
                from,
                from_port,
                to,
                to_port,
                span: span(100 + k as u32),
            })
            .collect(),
        requirements: Vec::new(),
    }
}

/// A router on simulated time with an in-memory host, returned with the
/// host so tests can read what was printed.
pub fn build(flat: FlatConfig) -> Result<(Router, Rc<MemoryHost>), Errors> {
    let host = Rc::new(MemoryHost::default());
    let env = Env {
        clock: Box::new(SimClock::new()),
        host: Box::new(host.clone()),
    };
    Router::new(flat, &registry(), env).map(|r| (r, host))
}

/// Like [`build`], panicking with the errors (for tests of valid graphs).
pub fn router(flat: FlatConfig) -> (Router, Rc<MemoryHost>) {
    match build(flat) {
        Ok(r) => r,
        Err(e) => panic!("{}", e),
    }
}

/// Parses and builds `source` (file name `config`) on simulated time.
pub fn build_from_source(source: &str) -> Result<(Router, Rc<MemoryHost>), Errors> {
    let host = Rc::new(MemoryHost::default());
    let env = Env {
        clock: Box::new(SimClock::new()),
        host: Box::new(host.clone()),
    };
    Router::from_source(source, "config", &[], &registry(), env).map(|r| (r, host))
}

/// Like [`build_from_source`], panicking with the errors.
pub fn router_from_source(source: &str) -> (Router, Rc<MemoryHost>) {
    match build_from_source(source) {
        Ok(r) => r,
        Err(e) => panic!("{}", e),
    }
}

/// Packets a `TestSink` called `name` received, as (port, bytes).
pub fn sink_contents(r: &Router, name: &str) -> Vec<(usize, Vec<u8>)> {
    let eid = r
        .find(name)
        .unwrap_or_else(|| panic!("{}", format!("no element {name}")));
    r.with_element(eid, |e, _| {
        e.downcast_ref::<TestSink>()
            .map(|s| {
                s.got
                    .iter()
                    .map(|(p, pk)| (*p, pk.data().to_vec()))
                    .collect()
            })
            .unwrap_or_default()
    })
    .unwrap_or_default()
}

/// xorshift64*: a deterministic, dependency-free generator for tests that
/// feed elements random input.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Pushes `n` packets from `next` (which also picks the input) through a
/// lone `class(cfg)` with `nin` inputs and `nout` outputs, every output
/// into one `TestSink`; then reads each readable handler, which must keep
/// working. Returns how many packets reached the sink.
pub fn through_element(
    (class, cfg, nin, nout): (&str, &str, usize, usize),
    n: usize,
    next: &mut dyn FnMut() -> (usize, Packet),
) -> u32 {
    let mut conns = Vec::new();
    for k in 0..nout {
        conns.push((0, k, 1, k));
    }
    for k in 0..nin {
        conns.push((2, k, 0, k));
    }
    let (r, _) = router(flat(
        &[("e", class, cfg), ("s", "TestSink", ""), ("i", "Idle", "")],
        &conns,
    ));
    for _ in 0..n {
        let (port, p) = next();
        r.inject(0, port, p);
    }
    for h in r.element_handlers(0) {
        if h.readable() {
            r.read(&format!("e.{}", h.name)).unwrap();
        }
    }
    r.read("s.count").unwrap().parse().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_from_source_runs_a_driver_script() {
        let (r, host) = router_from_source(
            "Idle -> c :: Counter -> Discard;\n\
             DriverManager(print \"n=\"$(c.count), stop);",
        );
        assert!(r.run_until_idle());
        assert_eq!(&*host.stdout.borrow(), "n=0\n");
        let e = build_from_source("Idle -> NoSuchClass;").err().unwrap();
        assert!(alloc::format!("{e}").starts_with("config:1:"), "{e}");
    }
}
