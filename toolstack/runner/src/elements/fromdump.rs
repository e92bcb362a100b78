//! `FromDump(FILENAME [, TIMING, KEYWORDS])`: reads packets from a tcpdump (pcap or pcapng) file.
//!
//! Emits each packet of FILENAME in order, with its timestamp annotation set
//! to the record's time, its MAC header annotation at the start, and the
//! extra length annotation set to any bytes the capture left out. Reads
//! pcap (microsecond and nanosecond, either byte order) and pcapng files,
//! gzip'd or not (told by their first bytes, whatever the file's name);
//! anything else is an initialization error naming what the file is.
//! Link types Ethernet and raw IP (and SLL, NULL for `FORCE_IP`); a pcapng
//! file's interfaces must share one. The file is read as packets go out
//! (see `MMAP`), never all at once, so a trace may be larger than memory.
//!
//! # Ports
//! No inputs; one or two outputs. Output 0 is push or pull; output 1 (push)
//! receives non-IP packets when `FORCE_IP` is true.
//!
//! # Processing
//! In push mode a task emits packets; in pull mode each pull returns the
//! next one. At the end of the file (or at `END`) FromDump calls its end
//! handler: with `STOP true`, it stops and sends a driver stop event.
//!
//! # Keywords
//! * `TIMING` (bool, default false; also the second positional argument):
//!   replay at the trace's pace on the router clock: the first packet
//!   leaves at once, the others keep their delays. With `mbctl run
//!   --simtime` this is deterministic and takes no real time.
//! * `STOP` (bool, default false): request a driver stop at the end.
//! * `ACTIVE` (bool, default true): emit packets (see the `active` handler).
//! * `BURST` (integer, default 1): packets per task run. With 1, packets
//!   travel one by one exactly as in Click; larger bursts move packets in
//!   batches (FastClick style, faster) and may interleave differently with
//!   other sources where paths merge. With 1, FromDump still moves batches
//!   when that cannot change what any element sees: everything downstream
//!   is a tree of per-packet elements (Classifier, Strip, CheckIPHeader,
//!   IPFilter, IPRewriter, Discard ...) with no merging paths.
//! * `SAMPLE` (real 0..1, default 1): emit each packet with this probability.
//! * `FORCE_IP` (bool, default false): emit only IP packets, with their IP
//!   header annotation set; others go to output 1 or are dropped. Implied
//!   for raw-IP files.
//! * `START`, `END` (absolute times in seconds): skip packets before START;
//!   end at the first packet at or after END.
//! * `START_AFTER`, `END_AFTER` (times relative to the first packet),
//!   `INTERVAL` (relative to START or the first packet).
//! * `END_CALL` (handler call `elem.handler [value]`): written at the end
//!   instead of the default (`NAME.active false` when an end time is set).
//! * `FILEPOS` (integer): start at this byte offset of the file (of the
//!   decompressed stream for a gzip'd file).
//! * `MMAP` (bool, default true): map a regular, uncompressed file 4 MiB
//!   at a time instead of reading it (no read calls or copies into a
//!   buffer; resident memory stays bounded). With false, for a gzip'd
//!   file or a pipe, or when mapping fails (an address-space limit), the
//!   file is read through a 1 MiB window.
//!
//! # Handlers
//! * `count` (read): packets emitted. `reset_counts` (write) zeroes it.
//! * `active` (read/write): whether it emits packets.
//! * `stop` (write): deactivate and send a driver stop event.
//! * `encap` (read): the link type (`ETHER`, `IP` ...).
//! * `filename`, `filesize`, `filepos`, `packet_filepos` (read): the file,
//!   its size, the offset of the next record and of the last packet's
//!   (offsets in the decompressed stream for a gzip'd file).
//! * `format` (read): `pcap`, `pcapng`, `gzip'd pcap` or `gzip'd pcapng`.
//! * `sampling_prob` (read): the `SAMPLE` probability.
//! * `extend_interval` (write): move the end time later by a time.
//! * `reset_timing` (write): restart relative times at the next packet.
//!
//! # Example
//! ```text
//! FromDump(trace.pcap, STOP true) -> c :: Counter -> Discard;
//! DriverManager(pause, print c.count, stop);
//! ```

use click::batch::Batch;
use click::confparse::{Args, Duration, FromArg};
use click::element::{Element, ElementClass, HandlerDecl};
use click::error::ConfigError;
use click::packet::{anno, Packet};
use click::router::{Ctx, PortKind};
use click::time::Timestamp;

use crate::pcap::{self, Reader};

/// The `FromDump` class.
pub static CLASS: ElementClass = ElementClass {
    name: "FromDump",
    ports: "0/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, cx| Ok(Box::new(FromDump::configure(args, cx.name())?)),
};

/// Timer that wakes a TIMING source when its next packet is due.
const TIMING_TIMER: u32 = 0;
/// Fixed-point scale of the sampling probability, as in Click.
const SAMPLING_SHIFT: u32 = 28;
/// Records skipped (START, SAMPLE) before yielding the task.
const MAX_SKIPS: usize = 16;

enum Read {
    Packet(Packet),
    Skipped,
    End,
}

/// Reads a pcap file and emits its packets.
pub struct FromDump {
    name: String,
    filename: String,
    trace: Option<Reader>,
    filesize: u64,
    packet_filepos: u64,
    start_filepos: u64,
    mmap: bool,
    count: u64,
    active: bool,
    timing: bool,
    force_ip: bool,
    burst: usize,
    /// Packets per task run on the plain path: BURST, or a whole batch
    /// when BURST is 1 and batches reach everything downstream in Click's
    /// order ([`click::Router::batch_preserves_order`]).
    plain_burst: usize,
    sampling: u32,
    rng: u32,
    first_time: Timestamp,
    have_first: bool,
    first_relative: bool,
    last_time: Timestamp,
    have_last: bool,
    last_relative: bool,
    last_interval: bool,
    have_times: bool,
    end_call: Option<(String, String)>,
    timing_offset: Timestamp,
    pending: Option<Packet>,
    push_mode: bool,
    warned: bool,
}

fn time_arg(args: &mut Args, name: &'static str) -> Result<Option<Timestamp>, ConfigError> {
    Ok(args.keyword::<Duration>(name)?.map(|d| d.0))
}

impl FromDump {
    fn configure(args: &mut Args, name: &str) -> Result<FromDump, ConfigError> {
        let filename: String = args.required("FILENAME")?;
        let timing = args.optional::<bool>("TIMING")?.unwrap_or(false);
        let stop = args.keyword_or("STOP", false)?;
        let active = args.keyword_or("ACTIVE", true)?;
        let sample: f64 = args.keyword_or("SAMPLE", 1.0)?;
        let force_ip = args.keyword_or("FORCE_IP", false)?;
        let start = time_arg(args, "START")?;
        let start_after = time_arg(args, "START_AFTER")?;
        let end = time_arg(args, "END")?;
        let end_after = time_arg(args, "END_AFTER")?;
        let interval = time_arg(args, "INTERVAL")?;
        let end_call: Option<String> = args.keyword("END_CALL")?;
        let filepos: u64 = args.keyword_or("FILEPOS", 0)?;
        let mmap = args.keyword_or("MMAP", true)?;
        let burst: usize = args.keyword_or("BURST", 1)?;
        if !(0.0..=1.0).contains(&sample) {
            return Err("SAMPLE must be between 0 and 1".into());
        }
        if burst == 0 || burst > click::batch::BATCH_MAX {
            let e = format!("BURST must be 1 to {}", click::batch::BATCH_MAX);
            return Err(ConfigError::out_of_range(e));
        }
        if start.is_some() && start_after.is_some() {
            return Err("START and START_AFTER are mutually exclusive".into());
        }
        let ends = [end, end_after, interval]
            .iter()
            .filter(|t| t.is_some())
            .count();
        if ends > 1 {
            return Err("END, END_AFTER, and INTERVAL are mutually exclusive".into());
        }
        if stop && end_call.is_some() {
            return Err("END_CALL and STOP are mutually exclusive".into());
        }
        let last_time = end.or(end_after).or(interval);
        let end_call = match end_call {
            Some(c) => Some(split_call(&c)),
            None if stop => Some((format!("{name}.stop"), String::new())),
            None if last_time.is_some() => Some((format!("{name}.active"), "false".into())),
            None => None,
        };
        Ok(FromDump {
            name: name.into(),
            filename,
            trace: None,
            filesize: 0,
            packet_filepos: 0,
            start_filepos: filepos,
            mmap,
            count: 0,
            active,
            timing,
            force_ip,
            burst,
            plain_burst: burst,
            sampling: (sample * (1u64 << SAMPLING_SHIFT) as f64) as u32,
            rng: 0x2545_f491,
            first_time: start.or(start_after).unwrap_or(Timestamp::ZERO),
            have_first: start.is_some() || start_after.is_some(),
            first_relative: start.is_none(),
            last_time: last_time.unwrap_or(Timestamp::ZERO),
            have_last: last_time.is_some(),
            last_relative: end_after.is_some(),
            last_interval: interval.is_some(),
            have_times: false,
            end_call,
            timing_offset: Timestamp::ZERO,
            pending: None,
            push_mode: true,
            warned: false,
        })
    }

    /// Packets emitted so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    fn set_active(&mut self, cx: &Ctx, on: bool) {
        self.active = on;
        if on && self.push_mode {
            cx.schedule();
        }
    }

    fn prepare_times(&mut self, cx: &Ctx, ts: Timestamp) {
        if self.first_relative {
            self.first_time = self.first_time + ts;
        }
        if self.last_relative {
            self.last_time = self.last_time + ts;
        } else if self.last_interval {
            self.last_time = self.last_time + self.first_time;
        }
        if self.timing {
            self.timing_offset = cx.now() - ts;
        }
        self.have_times = true;
    }

    fn next_random(&mut self) -> u32 {
        // xorshift32: sampling needs no more than a cheap uniform source.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    /// The next record of the trace, `None` at its end (a bad record,
    /// logged once, ends it too).
    #[inline(always)]
    fn next_record(&mut self, cx: &Ctx) -> Option<pcap::Record> {
        match self.trace.as_mut()?.next_record() {
            Ok(r) => r,
            Err(e) => {
                self.warn(cx, &e);
                None
            }
        }
    }

    #[cold]
    fn warn(&mut self, cx: &Ctx, e: &pcap::RecordError) {
        if !self.warned {
            self.warned = true;
            cx.log(&format!("{}: {e}", self.filename));
        }
    }

    fn read_packet(&mut self, cx: &Ctx) -> Read {
        let Some(rec) = self.next_record(cx) else {
            return Read::End;
        };
        let ts = Timestamp::new(rec.sec as i64, rec.nsec);
        if !self.have_times {
            self.prepare_times(cx, ts);
        }
        if self.have_first {
            if ts < self.first_time {
                return Read::Skipped;
            }
            self.have_first = false;
        }
        while self.have_last && ts >= self.last_time {
            self.have_last = false;
            self.call_end(cx);
            if !self.active {
                return Read::End;
            }
        }
        if self.sampling < (1 << SAMPLING_SHIFT)
            && (self.next_random() & ((1 << SAMPLING_SHIFT) - 1)) >= self.sampling
        {
            return Read::Skipped;
        }
        Read::Packet(self.packet_of(cx, &rec))
    }

    /// The packet for record `rec`, which becomes the last one read.
    #[inline(always)]
    fn packet_of(&mut self, cx: &Ctx, rec: &pcap::Record) -> Packet {
        let len = rec.caplen as usize;
        // A record is never skipped: where the pool has no memory the heap
        // is asked directly, and on the host a failure there aborts anyway.
        let mut p = cx.alloc(len).unwrap_or_else(|| Packet::new(len));
        if let Some(t) = &self.trace {
            p.data_mut().copy_from_slice(t.data());
        }
        p.set_timestamp(Timestamp::new(rec.sec as i64, rec.nsec));
        if rec.len != rec.caplen {
            p.set_anno_u32(anno::EXTRA_LENGTH, rec.len - rec.caplen);
        }
        p.set_mac_header(0);
        self.packet_filepos = rec.pos;
        p
    }

    /// True when every packet is emitted as read: no timing, time window,
    /// sampling or IP filtering to apply.
    fn plain(&self) -> bool {
        !self.timing
            && !self.have_first
            && !self.have_last
            && !self.force_ip
            && self.sampling >= (1 << SAMPLING_SHIFT)
            && self.pending.is_none()
    }

    /// The fast path of [`FromDump::run_task`] for plain traces: up to BURST
    /// packets straight from the file. Returns whether the trace ended.
    fn run_plain(&mut self, cx: &Ctx, batch: &mut Option<Batch>) -> bool {
        for _ in 0..self.plain_burst {
            let Some(rec) = self.next_record(cx) else {
                return true;
            };
            let p = self.packet_of(cx, &rec);
            self.count += 1;
            match batch {
                // Cannot be full: BURST <= BATCH_MAX.
                Some(b) => {
                    if let Err(p) = b.push(p) {
                        cx.push(0, p);
                    }
                }
                None => cx.push(0, p),
            }
        }
        false
    }

    /// [`FromDump::run_plain`] for BURST 1 (Click's one packet per task
    /// run), without the batch: the task round is most of the cost there.
    fn run_plain_one(&mut self, cx: &Ctx) -> bool {
        let Some(rec) = self.next_record(cx) else {
            cx.unschedule();
            self.call_end(cx);
            return false;
        };
        let p = self.packet_of(cx, &rec);
        self.count += 1;
        cx.push(0, p);
        true
    }

    /// The next packet to emit: `Ok(None)` when the task should yield (a
    /// skip run or a packet not yet due), `Err(())` at the end.
    fn next_packet(&mut self, cx: &Ctx) -> Result<Option<Packet>, ()> {
        let p = match self.pending.take() {
            Some(p) => p,
            None => {
                let mut skips = 0;
                loop {
                    match self.read_packet(cx) {
                        Read::Packet(p) => break p,
                        Read::Skipped => {
                            skips += 1;
                            if skips >= MAX_SKIPS {
                                return Ok(None);
                            }
                        }
                        Read::End => return Err(()),
                    }
                }
            }
        };
        if self.timing {
            let due = p.timestamp() + self.timing_offset;
            // Click wakes a real-time source 0.5 ms early; simulated time
            // jumps exactly.
            let slack = if cx.router().clock().is_simulated() {
                Timestamp::ZERO
            } else {
                Timestamp(500_000)
            };
            if cx.now() < due - slack {
                cx.set_timer(TIMING_TIMER, due - slack);
                self.pending = Some(p);
                return Ok(None);
            }
        }
        Ok(Some(p))
    }

    /// True if `p` is an IP packet (annotations set); see `FORCE_IP`.
    fn force_ip(&self, p: &mut Packet) -> bool {
        let lt = self
            .trace
            .as_ref()
            .map_or(1, |t| pcap::canonical_linktype(t.linktype()));
        let d = p.data();
        let ip_type = |hi: u8, lo: u8| matches!((hi, lo), (0x08, 0x00) | (0x86, 0xdd));
        let off = match lt {
            101 => Some(0),
            1 if d.len() >= 14 && ip_type(d[12], d[13]) => Some(14),
            1 if d.len() >= 18 && (d[12], d[13]) == (0x81, 0x00) && ip_type(d[16], d[17]) => {
                Some(18)
            }
            113 if d.len() >= 16 && ip_type(d[14], d[15]) => Some(16),
            0 if d.len() >= 4 => {
                let mut fam = d[0] as u32 | (d[1] as u32) << 8;
                if fam == 0 {
                    fam = (d[2] as u32) << 8 | d[3] as u32;
                }
                matches!(fam, 2 | 24 | 28 | 30).then_some(4)
            }
            _ => None,
        };
        off.is_some_and(|off| p.mark_ip_header(off))
    }

    fn call_end(&mut self, cx: &Ctx) {
        let Some((spec, value)) = self.end_call.clone() else {
            return;
        };
        match spec.rsplit_once('.') {
            Some((e, h)) if e == self.name => {
                if let Err(m) = self.write_handler(cx, h, &value) {
                    cx.log(&m.message);
                }
            }
            _ => {
                if let Err(e) = cx.router().write(&spec, &value) {
                    cx.log(&format!("END_CALL: {e}"));
                }
            }
        }
    }

    fn emit(&mut self, cx: &Ctx, mut p: Packet, batch: &mut Option<Batch>) -> bool {
        if self.force_ip && !self.force_ip(&mut p) {
            if cx.noutputs() > 1 {
                cx.push(1, p);
            } else {
                cx.kill(p);
            }
            return false;
        }
        self.count += 1;
        match batch {
            Some(b) => {
                // Cannot be full: at most BURST <= BATCH_MAX packets.
                if let Err(p) = b.push(p) {
                    cx.push(0, p);
                }
            }
            None => cx.push(0, p),
        }
        true
    }
}

/// Splits `elem.handler value` into the handler and its value.
fn split_call(s: &str) -> (String, String) {
    let s = s.trim();
    match s.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((h, v)) => (h.into(), v.trim().into()),
        None => (s.into(), String::new()),
    }
}

impl Element for FromDump {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        let err =
            |e: &dyn std::fmt::Display| ConfigError::initialize(format!("{}: {e}", self.filename));
        let mut t = Reader::open(&self.filename, self.mmap).map_err(|e| err(&e))?;
        self.filesize = std::fs::metadata(&self.filename)
            .map_err(|e| err(&e))?
            .len();
        let lt = pcap::canonical_linktype(t.linktype());
        if self.force_ip && ![0, 1, 101, 113].contains(&lt) {
            return Err(ConfigError::initialize(format!(
                "{}: unknown linktype {}; can't force IP packets",
                self.filename,
                t.linktype()
            )));
        }
        self.force_ip |= lt == 101;
        t.skip_to(self.start_filepos).map_err(|e| err(&e))?;
        self.trace = Some(t);
        self.push_mode = cx.output_kind(0) == Some(PortKind::Push);
        if self.push_mode && self.burst == 1 && cx.router().batch_preserves_order(cx.eid(), 0) {
            self.plain_burst = click::batch::BATCH_MAX;
        }
        if self.push_mode && self.active {
            cx.schedule();
        }
        Ok(())
    }

    fn run_task(&mut self, cx: &Ctx) -> bool {
        if !self.active {
            cx.unschedule();
            return false;
        }
        if self.plain_burst == 1 && self.plain() {
            return self.run_plain_one(cx);
        }
        if self.plain() {
            let mut batch = (self.plain_burst > 1).then(Batch::new);
            let before = self.count;
            let ended = self.run_plain(cx, &mut batch);
            if let Some(b) = batch.filter(|b| !b.is_empty()) {
                cx.push_batch(0, b);
            }
            if ended {
                cx.unschedule();
                self.call_end(cx);
            }
            return self.count != before;
        }
        let mut batch = (self.burst > 1).then(Batch::new);
        let mut worked = false;
        let mut ended = false;
        for _ in 0..self.burst {
            match self.next_packet(cx) {
                Ok(Some(p)) => worked |= self.emit(cx, p, &mut batch),
                Ok(None) => {
                    // A skip run yields but stays scheduled; a packet not yet
                    // due waits for its timer.
                    worked = worked || self.pending.is_none();
                    if self.pending.is_some() {
                        cx.unschedule();
                    }
                    break;
                }
                Err(()) => {
                    ended = true;
                    break;
                }
            }
        }
        if let Some(b) = batch.filter(|b| !b.is_empty()) {
            cx.push_batch(0, b);
        }
        if ended {
            cx.unschedule();
            self.call_end(cx);
        }
        worked
    }

    fn run_timer(&mut self, cx: &Ctx, id: u32) {
        if id == TIMING_TIMER && self.active && self.push_mode {
            cx.schedule();
        }
    }

    fn pull(&mut self, cx: &Ctx, _port: usize) -> Option<Packet> {
        if !self.active {
            return None;
        }
        loop {
            match self.next_packet(cx) {
                Ok(Some(mut p)) => {
                    if self.force_ip && !self.force_ip(&mut p) {
                        if cx.noutputs() > 1 {
                            cx.push(1, p);
                        } else {
                            cx.kill(p);
                        }
                        continue;
                    }
                    self.count += 1;
                    return Some(p);
                }
                // A run of skipped records: keep reading.
                Ok(None) if self.pending.is_none() => continue,
                Ok(None) => return None,
                Err(()) => {
                    self.call_end(cx);
                    return None;
                }
            }
        }
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[
            HandlerDecl::read("count"),
            HandlerDecl::write("reset_counts"),
            HandlerDecl::rw("active"),
            HandlerDecl::write("stop"),
            HandlerDecl::read("encap"),
            HandlerDecl::read("filename"),
            HandlerDecl::read("format"),
            HandlerDecl::read("filesize"),
            HandlerDecl::read("filepos"),
            HandlerDecl::read("packet_filepos"),
            HandlerDecl::read("sampling_prob"),
            HandlerDecl::write("extend_interval"),
            HandlerDecl::write("reset_timing"),
        ];
        H
    }

    fn read_handler(&self, _cx: &Ctx, name: &str) -> String {
        match name {
            "count" => self.count.to_string(),
            "active" => self.active.to_string(),
            "encap" => self
                .trace
                .as_ref()
                .map_or("UNKNOWN", |t| pcap::linktype_name(t.linktype()))
                .into(),
            "filename" => self.filename.clone(),
            "format" => self.trace.as_ref().map_or("", |t| t.format()).into(),
            "filesize" => self.filesize.to_string(),
            "filepos" => self.trace.as_ref().map_or(0, |t| t.position()).to_string(),
            "packet_filepos" => self.packet_filepos.to_string(),
            "sampling_prob" => {
                format!("{}", self.sampling as f64 / (1u64 << SAMPLING_SHIFT) as f64)
            }
            _ => String::new(),
        }
    }

    fn write_handler(&mut self, cx: &Ctx, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "reset_counts" => self.count = 0,
            "active" => {
                let on = bool::from_arg(value).ok_or("type mismatch")?;
                self.set_active(cx, on);
            }
            "stop" => {
                self.set_active(cx, false);
                cx.request_stop();
            }
            "extend_interval" => {
                let d =
                    Duration::from_arg(value).ok_or("'extend_interval' takes a time interval")?;
                self.last_time = self.last_time + d.0;
                if self.end_call.is_some() {
                    self.have_last = true;
                    self.set_active(cx, true);
                }
            }
            "reset_timing" => {
                self.first_relative = false;
                self.last_relative = false;
                self.last_interval = false;
                self.have_times = false;
            }
            _ => return Err(ConfigError::not_writable(name)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::driver::{self, Ended};
    use crate::testutil::{
        gzip, pcap_file, pcapng_file, read_records, sim_router, udp_frame, NgBlock, Scratch,
    };

    fn trace(dir: &Scratch, n: u32) -> String {
        let recs: Vec<_> = (0..n)
            .map(|i| (1000 + i, i * 1000, udp_frame(i as u8, 60 + i as usize)))
            .collect();
        let p = dir.path("in.pcap");
        std::fs::write(&p, pcap_file(1, &recs)).unwrap();
        p
    }

    #[test]
    fn copies_a_trace_and_stops_the_driver_manager() {
        let d = Scratch::new("fd1");
        let input = trace(&d, 5);
        let out = d.path("out.pcap");
        let (r, host) = sim_router(&format!(
            "src :: FromDump({input}, STOP true) -> c :: Counter -> ToDump({out});\n\
             DriverManager(pause, print \"n=\"$(src.count), stop);"
        ));
        assert_eq!(driver::run(&r), Ended::Stopped);
        assert_eq!(&*host.stdout.borrow(), "n=5\n");
        drop(r);
        let (lt, recs) = read_records(&out);
        assert_eq!(lt, 1);
        assert_eq!(recs.len(), 5);
        assert_eq!(recs[3].0, 1003);
        assert_eq!(recs[3].1, 3_000_000);
        assert_eq!(recs[3].3, udp_frame(3, 63));
    }

    #[test]
    fn without_a_driver_manager_the_end_of_the_trace_stops() {
        let d = Scratch::new("fd2");
        let input = trace(&d, 3);
        let (r, _h) = sim_router(&format!(
            "FromDump({input}, STOP true) -> c :: Counter -> Discard;"
        ));
        assert_eq!(driver::run(&r), Ended::Stopped);
        assert_eq!(r.read("c.count").unwrap(), "3");
        // Without STOP the router just runs out of work.
        let (r, _h) = sim_router(&format!("FromDump({input}) -> c :: Counter -> Discard;"));
        assert_eq!(driver::run(&r), Ended::Quiescent);
        assert_eq!(r.read("c.count").unwrap(), "3");
    }

    #[test]
    fn timing_replays_on_simulated_time() {
        let d = Scratch::new("fd3");
        let input = trace(&d, 4);
        // Records are 1.001 s apart; the clock jumps from packet to packet.
        let (r, host) = sim_router(&format!(
            "FromDump({input}, STOP true, TIMING true) -> Discard;\n\
             DriverManager(pause, print $(now), stop);"
        ));
        assert_eq!(driver::run(&r), Ended::Stopped);
        assert_eq!(&*host.stdout.borrow(), "1000000003.003000\n");
    }

    #[test]
    fn bursts_deliver_everything_in_order() {
        let d = Scratch::new("fd4");
        let input = trace(&d, 40);
        let out = d.path("b.pcap");
        let (r, _h) = sim_router(&format!(
            "FromDump({input}, STOP true, BURST 8) -> c :: Counter -> ToDump({out});"
        ));
        driver::run(&r);
        assert_eq!(r.read("c.count").unwrap(), "40");
        drop(r);
        let (_, recs) = read_records(&out);
        assert!(recs
            .iter()
            .enumerate()
            .all(|(i, rec)| rec.0 == 1000 + i as u32));
    }

    #[test]
    fn burst_1_moves_batches_only_where_nothing_can_tell() {
        let d = Scratch::new("fd4b");
        let input = trace(&d, 40);
        let plain_burst = |tail: &str| {
            let (r, _h) = sim_router(&format!("src :: FromDump({input}, STOP true) {tail}"));
            let n = r.with_element(r.find("src").unwrap(), |e, _| {
                e.downcast_mut::<super::FromDump>().unwrap().plain_burst
            });
            assert_eq!(driver::run(&r), Ended::Stopped);
            assert_eq!(r.read("src.count").unwrap(), "40");
            n.unwrap()
        };
        let tree = "-> cl :: Classifier(12/0800, -) -> Strip(14) -> CheckIPHeader -> Discard;\n\
                    cl[1] -> Discard;";
        assert_eq!(plain_burst(tree), click::batch::BATCH_MAX);
        // Two paths merge in one element: its arrival order would change.
        let merge = "-> cl :: Classifier(12/0800, -) -> d :: Discard;\ncl[1] -> d;";
        assert_eq!(plain_burst(merge), 1);
        // A Counter may call handlers part-way; ToDump is a file.
        assert_eq!(plain_burst("-> Counter -> Discard;"), 1);
        let out = d.path("o.pcap");
        assert_eq!(plain_burst(&format!("-> Strip(0) -> ToDump({out});")), 1);
    }

    #[test]
    fn start_end_and_force_ip() {
        let d = Scratch::new("fd5");
        let mut recs: Vec<_> = (0..6)
            .map(|i| (2000 + i, 0, udp_frame(i as u8, 60)))
            .collect();
        let mut arp = udp_frame(9, 60);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        recs.push((2006, 0, arp));
        let p = d.path("t.pcap");
        std::fs::write(&p, pcap_file(1, &recs)).unwrap();
        let (r, _h) = sim_router(&format!(
            "src :: FromDump({p}, START 2001, END 2004) -> c :: Counter -> Discard;"
        ));
        driver::run(&r);
        assert_eq!(r.read("c.count").unwrap(), "3");
        assert_eq!(r.read("src.active").unwrap(), "false");
        let (r, _h) = sim_router(&format!(
            "src :: FromDump({p}, FORCE_IP true, STOP true);\n\
             src[0] -> ip :: Counter -> Discard; src[1] -> other :: Counter -> Discard;"
        ));
        driver::run(&r);
        assert_eq!(r.read("ip.count").unwrap(), "6");
        assert_eq!(r.read("other.count").unwrap(), "1");
    }

    #[test]
    fn pcapng_and_gzip_give_the_packets_pcap_does() {
        let d = Scratch::new("fd7");
        let frames: Vec<_> = (0..4).map(|i| udp_frame(i, 60 + i as usize)).collect();
        let mut blocks = vec![NgBlock::Interface {
            linktype: 1,
            snaplen: 0,
            tsresol: Some(9),
        }];
        blocks.extend(frames.iter().enumerate().map(|(i, f)| NgBlock::Enhanced {
            ifc: 0,
            ts: (1000 + i as u64) * 1_000_000_000 + 42,
            data: f.clone(),
            len: f.len() as u32,
        }));
        let ng = pcapng_file(false, &blocks);
        let files = [
            ("t.pcapng", ng.clone(), "pcapng"),
            ("t.pcapng.gz", gzip(&ng), "gzip'd pcapng"),
            // Told by the first bytes, not by the name.
            (
                "t.pcap",
                gzip(&pcap_file(1, &[(7, 0, frames[0].clone())])),
                "gzip'd pcap",
            ),
        ];
        // Mapped and read through the window alike.
        let runs = files.iter().flat_map(|f| [(f, true), (f, false)]);
        for ((name, bytes, format), mmap) in runs {
            let input = d.path(name);
            std::fs::write(&input, bytes).unwrap();
            let out = d.path("out.pcap");
            let (r, _h) = sim_router(&format!(
                "src :: FromDump({input}, STOP true, MMAP {mmap}) -> ToDump({out});"
            ));
            assert_eq!(driver::run(&r), Ended::Stopped);
            assert_eq!(r.read("src.format").unwrap(), *format);
            assert_eq!(r.read("src.encap").unwrap(), "ETHER");
            assert_eq!(r.read("src.filesize").unwrap(), bytes.len().to_string());
            drop(r);
            let (_, recs) = read_records(&out);
            if *format == "gzip'd pcap" {
                assert_eq!(recs, [(7, 0, 60, frames[0].clone())]);
                continue;
            }
            let want: Vec<_> = frames
                .iter()
                .enumerate()
                .map(|(i, f)| (1000 + i as u32, 42, f.len() as u32, f.clone()))
                .collect();
            assert_eq!(recs, want, "{name}");
        }
    }

    #[test]
    fn bad_files_are_initialization_errors() {
        let d = Scratch::new("fd6");
        let missing = d.path("missing.pcap");
        let e = crate::build(
            &format!("FromDump({missing}) -> Discard;"),
            "t.click",
            &[],
            true,
        )
        .err()
        .unwrap();
        let msg = e.to_string();
        assert!(msg.starts_with("t.click:1:"), "{msg}");
        assert!(msg.contains("missing.pcap"), "{msg}");
        let junk = d.path("junk.pcap");
        std::fs::write(&junk, b"this is not a pcap file at all").unwrap();
        let e = crate::build(
            &format!("FromDump({junk}) -> Discard;"),
            "t.click",
            &[],
            true,
        )
        .err()
        .unwrap();
        let e = e.to_string();
        assert!(
            e.contains("junk.pcap: not a tcpdump file: unknown format"),
            "{e}"
        );
        assert!(e.contains("pcap, pcapng and gzip"), "{e}");
        // A truncated last record ends the trace with a warning, no panic.
        let mut b = pcap_file(1, &[(1, 0, udp_frame(1, 60)), (2, 0, udp_frame(2, 60))]);
        b.truncate(b.len() - 10);
        let cut = d.path("cut.pcap");
        std::fs::write(&cut, b).unwrap();
        let (r, host) = sim_router(&format!(
            "FromDump({cut}, STOP true) -> c :: Counter -> Discard;"
        ));
        assert_eq!(driver::run(&r), Ended::Stopped);
        assert_eq!(r.read("c.count").unwrap(), "1");
        assert!(host.logs.borrow().iter().any(|l| l.contains("truncated")));
    }
}
