//! `ToDump(FILENAME [, SNAPLEN, ENCAP, KEYWORDS])`: writes packets to a tcpdump (pcap) file.
//!
//! Creates FILENAME at initialization (`-` means standard output), and
//! any missing directories on its path (so `OUT=/tmp/fw` in a config's
//! `ToDump($OUT/x.pcap)` needs no `mkdir` first), and writes each packet with its timestamp annotation (the current time when
//! it has none), in nanosecond format like Click. tcpdump, Wireshark and
//! FromDump read the result.
//!
//! # Ports
//! One input; zero or one output. Agnostic.
//!
//! # Processing
//! Pushed packets are written, then leave on the output if there is one
//! (else they are freed). With a pull input and no output, a task pulls
//! and writes one packet per run; with an output, pulls pass through.
//!
//! # Keywords
//! * `SNAPLEN` (integer, default 2000; 0 = everything; also the second
//!   positional argument): bytes of each packet written.
//! * `ENCAP` (word, default `ETHER`; also the third positional argument):
//!   the link type recorded in the file: `ETHER`, `IP`, `SLL`, `NULL`, `PPP`,
//!   `HDLC`, `PPP_HDLC`, `FDDI`, `802_11`, `PRISM`, `AIRONET`, `RADIOTAP`.
//! * `USE_ENCAP_FROM` (element names): take the link type from these
//!   elements' `encap` handlers (they must agree).
//! * `EXTRA_LENGTH` (bool, default true): add the extra length annotation
//!   to the recorded wire length.
//! * `UNBUFFERED` (bool, default false): write through at every packet.
//! * `NANO` (bool, default true): nanosecond timestamps.
//!
//! # Handlers
//! * `count` (read): packets written. `reset_counts` (write) zeroes it.
//! * `filename` (read): the file name.
//!
//! # Example
//! ```text
//! FromDump(in.pcap, STOP true) -> Strip(14) -> ToDump(ip.pcap, ENCAP IP);
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use click::batch::Batch;
use click::confparse::{Args, Word};
use click::element::{Element, ElementClass, HandlerDecl};
use click::error::ConfigError;
use click::packet::{anno, Packet};
use click::router::{Ctx, PortKind};

use crate::pcap;

/// The `ToDump` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ToDump",
    ports: "1/0-1",
    processing: "a/a",
    // After FromDump/FromDevice, whose `encap` USE_ENCAP_FROM reads.
    phase: 1,
    make: |args, _cx| Ok(Box::new(ToDump::configure(args)?)),
};

/// Writes packets to a pcap file.
pub struct ToDump {
    filename: String,
    snaplen: u32,
    linktype: Option<u32>,
    use_encap_from: Vec<String>,
    extra_length: bool,
    unbuffered: bool,
    nano: bool,
    out: Option<BufWriter<Box<dyn Write>>>,
    count: u64,
    active: bool,
    pull_task: bool,
}

impl ToDump {
    fn configure(args: &mut Args) -> Result<ToDump, ConfigError> {
        let filename: String = args.required("FILENAME")?;
        let snaplen: u32 = args.optional("SNAPLEN")?.unwrap_or(2000);
        let encap: Option<Word> = args.optional("ENCAP")?;
        let use_from: Option<String> = args.keyword("USE_ENCAP_FROM")?;
        let extra_length = args.keyword_or("EXTRA_LENGTH", true)?;
        let unbuffered = args.keyword_or("UNBUFFERED", false)?;
        let nano = args.keyword_or("NANO", true)?;
        if encap.is_some() && use_from.is_some() {
            return Err("specify at most one of 'ENCAP' and 'USE_ENCAP_FROM'".into());
        }
        let linktype = match &encap {
            Some(w) => Some(
                pcap::linktype_by_name(&w.0)
                    .ok_or_else(|| format!("bad encapsulation type '{}'", w.0))?,
            ),
            None if use_from.is_some() => None,
            None => Some(1),
        };
        let use_encap_from: Vec<String> = use_from
            .map(|s| s.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        if linktype.is_none() && use_encap_from.is_empty() {
            return Err("element names missing after 'USE_ENCAP_FROM'".into());
        }
        Ok(ToDump {
            filename,
            snaplen: if snaplen == 0 { u32::MAX } else { snaplen },
            linktype,
            use_encap_from,
            extra_length,
            unbuffered,
            nano,
            out: None,
            count: 0,
            active: true,
            pull_task: false,
        })
    }

    /// Packets written.
    pub fn count(&self) -> u64 {
        self.count
    }

    fn encap_from_sources(&self, cx: &Ctx) -> Result<u32, ConfigError> {
        let mut lt: Option<(u32, &str)> = None;
        for name in &self.use_encap_from {
            let v = cx
                .router()
                .read(&format!("{name}.encap"))
                .map_err(|_| format!("'{name}' has no 'encap' read handler"))?;
            let t = pcap::linktype_by_name(&v).ok_or_else(|| {
                format!("'{name}.encap' did not return a valid encapsulation type")
            })?;
            match lt {
                Some((other, from)) if other != t => {
                    return Err(ConfigError::initialize(format!(
                        "source encapsulation types disagree: {from} has {}, {name} has {}",
                        pcap::linktype_name(other),
                        pcap::linktype_name(t)
                    )))
                }
                _ => lt = Some((t, name)),
            }
        }
        lt.map(|(t, _)| t)
            .ok_or_else(|| "no encapsulation type".into())
    }

    fn write(&mut self, cx: &Ctx, p: &Packet) {
        if !self.active {
            return;
        }
        let Some(out) = self.out.as_mut() else { return };
        let mut ts = p.timestamp();
        if ts.nanos() == 0 {
            ts = cx.now();
        }
        let frac = if self.nano { ts.nsec() } else { ts.usec() };
        let len = p.len() as u32;
        let extra = if self.extra_length {
            p.anno_u32(anno::EXTRA_LENGTH).unwrap_or(0)
        } else {
            0
        };
        let caplen = len.min(self.snaplen);
        let hdr = pcap::record_header(ts.sec() as u32, frac, caplen, len.saturating_add(extra));
        let r = out
            .write_all(&hdr)
            .and_then(|_| out.write_all(&p.data()[..caplen as usize]))
            .and_then(|_| if self.unbuffered { out.flush() } else { Ok(()) });
        match r {
            Ok(()) => self.count += 1,
            Err(e) => {
                self.active = false;
                cx.log(&format!("{}: {e}", self.filename));
            }
        }
    }
}

/// Creates `path`, and the directories leading to it that are missing.
fn create_with_parents(path: &str) -> Result<File, String> {
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{path}: creating {}: {e}", dir.display()))?;
    }
    File::create(path).map_err(|e| format!("{path}: {e}"))
}

impl Element for ToDump {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        let linktype = match self.linktype {
            Some(l) => l,
            None => self.encap_from_sources(cx)?,
        };
        let sink: Box<dyn Write> = if self.filename == "-" {
            Box::new(std::io::stdout())
        } else {
            Box::new(create_with_parents(&self.filename).map_err(ConfigError::initialize)?)
        };
        let mut out = BufWriter::with_capacity(1 << 16, sink);
        out.write_all(&pcap::file_header(self.nano, self.snaplen, linktype))
            .map_err(|e| {
                ConfigError::initialize(format!(
                    "{}: unable to write file header: {e}",
                    self.filename
                ))
            })?;
        self.out = Some(out);
        if cx.input_kind(0) == Some(PortKind::Pull) && cx.noutputs() == 0 {
            self.pull_task = true;
            cx.schedule();
        }
        Ok(())
    }

    fn push(&mut self, cx: &Ctx, _port: usize, p: Packet) {
        self.write(cx, &p);
        if cx.noutputs() > 0 {
            cx.push(0, p);
        } else {
            cx.kill(p);
        }
    }

    fn push_batch(&mut self, cx: &Ctx, _port: usize, b: Batch) {
        for p in b.iter() {
            self.write(cx, p);
        }
        if cx.noutputs() > 0 {
            cx.push_batch(0, b);
        } else {
            for p in b {
                cx.kill(p);
            }
        }
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        let p = cx.pull(0)?;
        self.write(cx, &p);
        Some(p)
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        if !self.active || !self.pull_task {
            return false;
        }
        match cx.pull(0) {
            Some(p) => {
                self.write(cx, &p);
                cx.kill(p);
                true
            }
            None => false,
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("count"),
            HandlerDecl::read("filename"),
            HandlerDecl::write("reset_counts"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "count" => self.count.to_string(),
            "filename" => self.filename.clone(),
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, _cx: &Ctx, _name: &str, _value: &str) -> Result<(), ConfigError> {
        self.count = 0;
        Ok(())
    }
}

impl Drop for ToDump {
    fn drop(&mut self) {
        if let Some(mut out) = self.out.take() {
            // Nobody is left to tell: the run is over.
            let _ = out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::driver;
    use crate::testutil::{read_records, sim_router, udp_frame, Scratch};

    #[test]
    fn creates_missing_directories_on_the_path() {
        let d = Scratch::new("td1");
        let out = d.path("a/b/out.pcap");
        let (r, _h) = sim_router(&format!(
            "InfiniteSource(LIMIT 2, STOP true) -> ToDump({out});"
        ));
        driver::run(&r);
        drop(r);
        let (lt, recs) = read_records(&out);
        assert_eq!((lt, recs.len()), (1, 2));
    }

    #[test]
    fn a_path_through_a_file_is_an_initialization_error() {
        let d = Scratch::new("td2");
        let file = d.path("plain");
        std::fs::write(&file, udp_frame(1, 60)).unwrap();
        let e = crate::build(
            &format!("InfiniteSource(LIMIT 1) -> ToDump({file}/sub/out.pcap);"),
            "t.click",
            &[],
            true,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.starts_with("t.click:1:"), "{e}");
        assert!(e.contains("creating") && e.contains("plain/sub"), "{e}");
    }
}
