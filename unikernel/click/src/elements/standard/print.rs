//! `Print([LABEL, MAXLENGTH, KEYWORDS])`: logs each packet's length and
//! first bytes.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! For each packet logs one line in Click's format
//! `LABEL: TIMESTAMP:  LEN | 45000054 00004000 ...`: the label (if any),
//! the timestamp (with `TIMESTAMP true`), the length right-aligned in 4
//! columns, the headroom and tailroom (with `HEADROOM true`), the user
//! annotation bytes (with `PRINTANNO true`), then up to MAXLENGTH bytes
//! (default 24; negative: all) in hex, grouped by 4, or as text with
//! `CONTENTS ASCII`. The packet then passes on unchanged. The lines go to
//! the diagnostic log (standard error; the console in the guest).
//!
//! # Keywords
//! * `LABEL` (string), `MAXLENGTH` (integer): as the positional arguments.
//! * `CONTENTS` (`NONE`, `HEX`, `ASCII`, or a bool): how to show data.
//! * `TIMESTAMP`, `PRINTANNO`, `HEADROOM` (bool, default false).
//! * `ACTIVE` (bool, default true): if false, prints nothing.
//!
//! # Handlers
//! * `active` (read/write): the `ACTIVE` setting.
//!
//! # Example
//! ```text
//! FromDump(in.pcap) -> Print(in, 14) -> Discard;
//! ```

use crate::error::{ConfigError, ErrorKind};
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use core::fmt::Write;

use crate::confparse::{parse_written, FromArg, Word};
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::packet::{Packet, ANNO_SIZE};
use crate::router::Ctx;

/// The `Print` class.
pub static CLASS: ElementClass = ElementClass {
    name: "Print",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let label = args.optional::<String>("LABEL")?.unwrap_or_default();
        let mut maxlength = args.optional::<i32>("MAXLENGTH")?.unwrap_or(24);
        for old in ["LENGTH", "NBYTES"] {
            if let Some(n) = args.keyword::<i32>(old)? {
                maxlength = n;
            }
        }
        let contents = match args.keyword::<Word>("CONTENTS")? {
            None => Contents::Hex,
            Some(Word(w)) => Contents::parse(&w)?,
        };
        Ok(Box::new(Print {
            label,
            maxlength,
            contents,
            timestamp: args.keyword_or("TIMESTAMP", false)?,
            print_anno: args.keyword_or("PRINTANNO", false)?,
            active: args.keyword_or("ACTIVE", true)?,
            headroom: args.keyword_or("HEADROOM", false)?,
            line: String::new(),
        }))
    },
};

/// How packet data is shown (`CONTENTS`), shared with IPPrint.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Contents {
    None,
    Hex,
    Ascii,
}

impl Contents {
    /// Parses a `CONTENTS` value: `NONE`, `HEX`, `ASCII` or a bool.
    pub(crate) fn parse(w: &str) -> Result<Contents, ConfigError> {
        Ok(match bool::from_arg(w) {
            Some(true) => Contents::Hex,
            Some(false) => Contents::None,
            None => match w.to_ascii_uppercase().as_str() {
                "NONE" => Contents::None,
                "HEX" => Contents::Hex,
                "ASCII" => Contents::Ascii,
                _ => {
                    return Err(ConfigError::new(
                        ErrorKind::BadValue,
                        alloc::format!(
                            "bad contents value '{w}'; should be 'NONE', 'HEX', or 'ASCII'"
                        ),
                    ))
                }
            },
        })
    }
}

/// Logs packets.
pub struct Print {
    label: String,
    maxlength: i32,
    contents: Contents,
    timestamp: bool,
    print_anno: bool,
    active: bool,
    headroom: bool,
    /// Reused line buffer, so printing does not allocate per packet.
    line: String,
}

impl Print {
    /// Formats the line for `p` into `self.line`.
    fn format(&mut self, p: &Packet) {
        let s = &mut self.line;
        s.clear();
        let mut sep = "";
        if !self.label.is_empty() {
            s.push_str(&self.label);
            sep = ": ";
        }
        if self.timestamp {
            let _ = write!(s, "{sep}{}", p.timestamp());
            sep = ": ";
        }
        let _ = write!(s, "{sep}{:4}", p.len());
        if self.headroom {
            let _ = write!(s, " (h{} t{})", p.headroom(), p.tailroom());
        }
        if self.print_anno {
            s.push_str(" | ");
            for b in &p.anno().user[..ANNO_SIZE] {
                let _ = write!(s, "{b:02x}");
            }
        }
        let mut bytes = if self.contents == Contents::None {
            0
        } else {
            self.maxlength
        };
        if bytes < 0 || p.len() < bytes as usize {
            bytes = p.len() as i32;
        }
        if bytes > 0 {
            s.push_str(" | ");
            let data = &p.data()[..bytes as usize];
            for (i, &b) in data.iter().enumerate() {
                if self.contents == Contents::Hex {
                    if i > 0 && i % 4 == 0 {
                        s.push(' ');
                    }
                    let _ = write!(s, "{b:02x}");
                } else {
                    if i % 8 == 0 {
                        s.push(' ');
                    }
                    s.push(if (32..=126).contains(&b) {
                        b as char
                    } else {
                        '.'
                    });
                }
            }
        }
    }

    fn action(&mut self, cx: &Ctx, p: Packet) -> Option<Packet> {
        if self.active {
            self.format(&p);
            cx.host().log(&self.line);
        }
        Some(p)
    }
}

impl Element for Print {
    simple_action!();

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::rw("active")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.active.to_string()
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, value: &str) -> Result<(), ConfigError> {
        self.active = parse_written(value)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::elements::standard::test_util::fed;
    use crate::packet::Packet;
    use crate::testing::{build, router, sink_contents};
    use alloc::string::String;
    use alloc::vec::Vec;

    fn printed(cfg: &str, p: Packet) -> String {
        let (r, host) = router(fed(
            &[("p", "Print", cfg), ("s", "TestSink", "")],
            &[(0, 0, 1, 0)],
        ));
        r.inject(0, 0, p);
        assert_eq!(sink_contents(&r, "s").len(), 1);
        let logs: Vec<String> = host.logs.borrow().clone();
        logs.join("\n")
    }

    #[test]
    fn click_format() {
        let data: Vec<u8> = (0..30).collect();
        assert_eq!(
            printed("ok", Packet::from_slice(&data)),
            "ok:   30 | 00010203 04050607 08090a0b 0c0d0e0f 10111213 14151617"
        );
        assert_eq!(
            printed("", Packet::from_slice(&[0xab, 0xcd])),
            "   2 | abcd"
        );
        assert_eq!(
            printed("x, 3", Packet::from_slice(&data)),
            "x:   30 | 000102"
        );
        assert_eq!(
            printed("x, CONTENTS NONE", Packet::from_slice(&data)),
            "x:   30"
        );
        assert_eq!(
            printed("x, CONTENTS ASCII", Packet::from_slice(b"Hello, world!\n")),
            "x:   14 |  Hello, w orld!."
        );
        let mut p = Packet::from_slice(&[1]);
        p.set_timestamp(crate::time::Timestamp::from_usec(5, 42));
        assert_eq!(printed("t, TIMESTAMP true", p), "t: 5.000042:    1 | 01");
        let s = printed("MAXLENGTH -1, HEADROOM true", Packet::from_slice(&data));
        assert!(s.starts_with("  30 (h64 t32) | 00010203"), "{s}");
        assert!(s.ends_with("1c1d"), "{s}");
    }

    #[test]
    fn inactive_and_errors() {
        let (r, host) = router(fed(
            &[("p", "Print", "ACTIVE false"), ("s", "TestSink", "")],
            &[(0, 0, 1, 0)],
        ));
        r.inject(0, 0, Packet::new(4));
        assert!(host.logs.borrow().is_empty());
        r.write("p.active", "true").unwrap();
        r.inject(0, 0, Packet::new(4));
        assert_eq!(host.logs.borrow().len(), 1);
        assert!(r.write("p.active", "sometimes").is_err());
        for cfg in ["x, CONTENTS BINARY", "x, y", "TIMESTAMP maybe"] {
            assert!(
                build(fed(
                    &[("p", "Print", cfg), ("s", "TestSink", "")],
                    &[(0, 0, 1, 0)]
                ))
                .is_err(),
                "{cfg}"
            );
        }
    }
}
