//! `InfiniteSource([DATA, LIMIT, BURST, ACTIVE, KEYWORDS])`: generates
//! packets whenever scheduled.
//!
//! # Ports
//! No inputs; one output, agnostic.
//!
//! # Processing
//! Packets hold DATA (default: a 70-byte text), or LENGTH bytes of DATA
//! repeated or cut. In push mode, each time its task runs it pushes BURST
//! packets (default 1); in pull mode each pull returns one. It stops after
//! LIMIT packets (default -1: never); then, with `STOP true`, it asks the
//! driver to stop. Packets are stamped with the current time unless
//! `TIMESTAMP false`.
//!
//! # Keywords
//! * `DATA` (string), `LIMIT` (integer), `BURST` (integer >= 1), `ACTIVE`
//!   (bool): as the positional arguments.
//! * `LENGTH` (integer, at most 65535): packet length.
//! * `STOP` (bool, default false): stop the driver after LIMIT packets.
//! * `TIMESTAMP` (bool, default true): stamp packets.
//!
//! # Handlers
//! * `count` (read): packets generated.
//! * `reset` (write): zeroes `count`, so LIMIT more packets are sent.
//! * `data`, `length`, `limit`, `burst`, `active` (read/write): the
//!   arguments.
//!
//! # Example
//! ```text
//! InfiniteSource(LIMIT 5, STOP true) -> Counter -> Discard;
//! ```

use crate::error::ConfigError;
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::confparse::split::bytes_to_string;
use crate::confparse::{parse_written, Bytes};
use crate::element::{Element, ElementClass, HandlerDecl};
use crate::packet::{Packet, MAX_CONFIG_LEN};
use crate::router::{Ctx, PortKind};

/// Click's default packet contents for its sources.
pub const DEFAULT_DATA: &str =
    "Random bullshit in a packet, at least 64 bytes long. Well, now it is.";

/// The `InfiniteSource` class.
pub static CLASS: ElementClass = ElementClass {
    name: "InfiniteSource",
    ports: "0/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let data = args
            .optional::<Bytes>("DATA")?
            .map_or_else(|| DEFAULT_DATA.into(), |b| b.0);
        let limit = args.optional::<i64>("LIMIT")?.unwrap_or(-1);
        let burst = args.optional::<i32>("BURST")?.unwrap_or(1);
        let active = args.optional::<bool>("ACTIVE")?.unwrap_or(true);
        let timestamp = args.keyword_or("TIMESTAMP", true)?;
        let length = args.keyword::<i64>("LENGTH")?.unwrap_or(-1);
        let stop = args.keyword_or("STOP", false)?;
        if burst < 1 {
            return Err(ConfigError::out_of_range("BURST must be >= 1"));
        }
        Ok(Box::new(InfiniteSource {
            payload: Payload::new(data, length)?,
            limit,
            burst: burst as u32,
            active,
            timestamp,
            stop,
            count: 0,
        }))
    },
};

/// A source's packet contents, from its `DATA` and `LENGTH` settings (the
/// `data` and `length` handlers): DATA, or LENGTH bytes of it repeated (a
/// negative LENGTH means DATA as is).
pub struct Payload {
    data: Vec<u8>,
    length: i64,
    template: Vec<u8>,
}

impl Payload {
    /// The contents for `data` and `length`; a LENGTH above
    /// [`MAX_CONFIG_LEN`] is out of range, one the heap cannot hold a
    /// resource error.
    pub fn new(data: Vec<u8>, length: i64) -> Result<Self, ConfigError> {
        if length > MAX_CONFIG_LEN as i64 {
            return Err(ConfigError::out_of_range(alloc::format!(
                "LENGTH {length} is too large (at most {MAX_CONFIG_LEN})"
            )));
        }
        let n = usize::try_from(length).unwrap_or(data.len());
        let mut template = crate::fallible::filled_vec(n, 0u8).ok_or_else(|| {
            ConfigError::resource(alloc::format!("no memory for a {n}-byte packet"))
        })?;
        if !data.is_empty() {
            for (t, b) in template.iter_mut().zip(data.iter().cycle()) {
                *t = *b;
            }
        }
        Ok(Payload {
            data,
            length,
            template,
        })
    }

    /// The packet bytes.
    pub fn template(&self) -> &[u8] {
        &self.template
    }

    /// Reads the `data` or `length` handler.
    pub fn read(&self, name: &str) -> String {
        match name {
            "data" => bytes_to_string(self.data.clone()),
            _ => self.length.to_string(),
        }
    }

    /// Writes the `data` or `length` handler.
    pub fn write(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        *self = if name == "data" {
            Payload::new(value.as_bytes().to_vec(), self.length)?
        } else {
            Payload::new(self.data.clone(), parse_written(value)?)?
        };
        Ok(())
    }
}

/// A pool packet holding `template`, stamped with now if `stamp`; `None`
/// when memory is short (the router counts it).
pub fn make_packet(cx: &Ctx, template: &[u8], stamp: bool) -> Option<Packet> {
    let mut p = cx.alloc(template.len())?;
    p.data_mut().copy_from_slice(template);
    if stamp {
        p.set_timestamp(cx.now());
    }
    Some(p)
}

/// Generates packets.
pub struct InfiniteSource {
    payload: Payload,
    limit: i64,
    burst: u32,
    active: bool,
    timestamp: bool,
    stop: bool,
    count: u64,
}

impl InfiniteSource {
    fn remaining(&self) -> u64 {
        match u64::try_from(self.limit) {
            Ok(l) => l.saturating_sub(self.count),
            Err(_) => u64::MAX,
        }
    }

    fn reschedule(&self, cx: &Ctx) {
        if self.active && self.remaining() > 0 && cx.output_kind(0) == Some(PortKind::Push) {
            cx.schedule();
        }
    }
}

impl Element for InfiniteSource {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.reschedule(cx);
        Ok(())
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        if !self.active {
            cx.unschedule();
            return false;
        }
        let n = (self.burst as u64).min(self.remaining());
        let mut made = 0;
        while made < n {
            // Out of memory the burst ends early; the next run tries again.
            let Some(p) = make_packet(cx, self.payload.template(), self.timestamp) else {
                break;
            };
            cx.push(0, p);
            made += 1;
        }
        self.count += made;
        if self.remaining() == 0 {
            cx.unschedule();
            if self.stop {
                cx.request_stop();
            }
        }
        made > 0
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        if !self.active {
            return None;
        }
        if self.remaining() == 0 {
            if self.stop {
                cx.request_stop();
            }
            return None;
        }
        let p = make_packet(cx, self.payload.template(), self.timestamp)?;
        self.count += 1;
        Some(p)
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("count"),
            HandlerDecl::write("reset"),
            HandlerDecl::rw("data"),
            HandlerDecl::rw("length"),
            HandlerDecl::rw("limit"),
            HandlerDecl::rw("burst"),
            HandlerDecl::rw("active"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "count" => self.count.to_string(),
            "data" | "length" => self.payload.read(name),
            "limit" => self.limit.to_string(),
            "burst" => self.burst.to_string(),
            "active" => self.active.to_string(),
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "data" | "length" => self.payload.write(name, value)?,
            "limit" => self.limit = parse_written(value)?,
            "burst" => match parse_written(value)? {
                0 => return Err(ConfigError::out_of_range("burst: must be >= 1")),
                b => self.burst = b,
            },
            "active" => self.active = parse_written(value)?,
            _ => self.count = 0,
        }
        self.reschedule(cx);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::testing::{build, router, sink_contents};

    #[test]
    fn sends_limit_packets_in_bursts_then_stops() {
        let (r, _) = router(fed(
            &[
                (
                    "src",
                    "InfiniteSource",
                    "DATA \"ab\", LIMIT 5, BURST 2, STOP true",
                ),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0)],
        ));
        assert!(r.run_until_idle(), "STOP true stops the router");
        let got = sink_contents(&r, "s");
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|(_, d)| d == b"ab"));
        assert_eq!(r.read("src.count").unwrap(), "5");
    }

    /// Hex data is the bytes written, not their UTF-8 encoding (gnat01.click
    /// sends an Ethernet frame from `00:90:27:e0:23:1f` this way), for every
    /// source taking DATA.
    #[test]
    fn hex_data_is_raw_bytes() {
        let frame = [0x00, 0xc0, 0x43, 0x71, 0xef, 0x90, 0x86, 0xdd, 0xff];
        for (class, cfg) in [
            ("InfiniteSource", "\\<00c04371 ef9086dd ff>, 1, STOP true"),
            (
                "RatedSource",
                "\\<00c04371 ef9086dd ff>, 1000, 1, STOP true",
            ),
            (
                "TimedSource",
                "1ms, \\<00c04371 ef9086dd ff>, LIMIT 1, STOP true",
            ),
        ] {
            let (r, _) = router(fed(
                &[("src", class, cfg), ("s", "TestSink", "")],
                &[(0, 0, 1, 0)],
            ));
            r.run_until_idle();
            let got = sink_contents(&r, "s");
            assert_eq!(got[0].1, frame, "{class}");
        }
    }

    #[test]
    fn length_default_data_and_handlers() {
        let (r, _) = router(fed(
            &[
                ("src", "InfiniteSource", "LIMIT 1, LENGTH 100, ACTIVE false"),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0)],
        ));
        assert!(!r.run_until_idle());
        assert!(sink_contents(&r, "s").is_empty());
        r.write("src.active", "true").unwrap();
        r.run_until_idle();
        let got = sink_contents(&r, "s");
        assert_eq!(got[0].1.len(), 100);
        assert_eq!(&got[0].1[..6], b"Random");
        assert_eq!(&got[0].1[69..75], b"Random");
        r.write("src.reset", "").unwrap();
        r.write("src.limit", "2").unwrap();
        r.run_until_idle();
        assert_eq!(sink_contents(&r, "s").len(), 3);
        assert!(r.write("src.burst", "0").is_err());
        assert_eq!(r.read("src.burst").unwrap(), "1");
        assert!(r.write("src.length", "x").is_err());
        assert_eq!(r.read("src.length").unwrap(), "100");
        assert!(r.read("src.data").unwrap().starts_with("Random"));
        for cfg in ["BURST 0", "LIMIT x", "ACTIVE 2", "a, 1, 1, true, 5"] {
            assert!(
                build(fed(
                    &[("src", "InfiniteSource", cfg), ("s", "TestSink", "")],
                    &[(0, 0, 1, 0)]
                ))
                .is_err(),
                "{cfg}"
            );
        }
    }

    #[test]
    fn lengths_beyond_a_packet_are_errors_not_allocations() {
        for (class, args) in [
            ("InfiniteSource", "LENGTH 4294967295"),
            ("InfiniteSource", "LENGTH 65536"),
            ("RatedSource", "LENGTH 4294967295"),
        ] {
            let e = build(fed(
                &[("src", class, args), ("s", "TestSink", "")],
                &[(0, 0, 1, 0)],
            ))
            .err()
            .unwrap_or_else(|| panic!("{class}({args}) accepted"));
            let e = alloc::format!("{e}");
            assert!(
                e.contains("LENGTH 4294967295") || e.contains("LENGTH 65536"),
                "{e}"
            );
            assert!(e.contains("at most 65535"), "{e}");
        }
        let (r, _) = router(fed(
            &[
                ("src", "InfiniteSource", "LENGTH 65535, ACTIVE false"),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0)],
        ));
        let e = r.write("src.length", "4294967295").unwrap_err();
        assert!(alloc::format!("{e:?}").contains("at most 65535"), "{e:?}");
        assert_eq!(r.read("src.length").unwrap(), "65535");
        // Memory that is not there is a resource error, not an abort.
        crate::fallible::fail_in_tests(true);
        let e = r.write("src.length", "1000");
        crate::fallible::fail_in_tests(false);
        assert!(alloc::format!("{:?}", e.unwrap_err()).contains("no memory"));
        assert_eq!(r.read("src.length").unwrap(), "65535");
    }

    #[test]
    fn pull_mode() {
        let (r, _) = router(fed(
            &[
                ("src", "InfiniteSource", "LIMIT 3"),
                ("u", "Unqueue", ""),
                ("s", "TestSink", ""),
            ],
            &[(0, 0, 1, 0), (1, 0, 2, 0)],
        ));
        for _ in 0..10 {
            r.step();
        }
        assert_eq!(sink_contents(&r, "s").len(), 3);
    }
}
