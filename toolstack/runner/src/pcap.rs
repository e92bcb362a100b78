//! The pcap file format (tcpdump's), read and written.
//!
//! Both byte orders, microsecond and nanosecond timestamps are read, and
//! pcapng and gzip'd traces too ([`Reader`], record by record from a
//! mapped file or any `Read`); files are written in native order with nanosecond timestamps,
//! as Click's ToDump does.

use std::fmt;
use std::io::{self, Read};

/// Microsecond-resolution magic number.
pub const MAGIC_USEC: u32 = 0xa1b2_c3d4;
/// Nanosecond-resolution magic number.
pub const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
/// Alexey Kuznetsov's "modified" pcap (8 more bytes per record header).
pub const MAGIC_MODIFIED: u32 = 0xa1b2_cd34;
/// Size of the file header.
pub const FILE_HEADER_LEN: usize = 24;
/// Size of a record header.
pub const RECORD_HEADER_LEN: usize = 16;

/// Link types, by Click's ENCAP names.
pub const LINKTYPES: &[(&str, u32)] = &[
    ("ETHER", 1),
    ("IP", 101),
    ("NULL", 0),
    ("PPP", 9),
    ("FDDI", 10),
    ("PPP_HDLC", 50),
    ("HDLC", 104),
    ("802_11", 105),
    ("SLL", 113),
    ("PRISM", 119),
    ("AIRONET", 120),
    ("RADIOTAP", 127),
];

/// The link type a Click ENCAP name stands for (case-insensitive; `ETHERNET`
/// and `RAW` are accepted too).
pub fn linktype_by_name(name: &str) -> Option<u32> {
    let n = name.trim().to_ascii_uppercase();
    let n = match n.as_str() {
        "ETHERNET" => "ETHER",
        "RAW" => "IP",
        other => other,
    };
    LINKTYPES.iter().find(|(k, _)| *k == n).map(|&(_, v)| v)
}

/// Click's ENCAP name for a link type (`IP` for the raw-IP codes 12, 14
/// and 101), or `UNKNOWN`.
pub fn linktype_name(lt: u32) -> &'static str {
    match canonical_linktype(lt) {
        101 => "IP",
        lt => LINKTYPES
            .iter()
            .find(|&&(_, v)| v == lt)
            .map(|&(k, _)| k)
            .unwrap_or("UNKNOWN"),
    }
}

/// Maps the platform-dependent raw-IP codes (DLT_RAW is 12 or 14) to 101.
pub fn canonical_linktype(lt: u32) -> u32 {
    match lt & 0x0fff_ffff {
        12 | 14 => 101,
        x => x,
    }
}

/// Why a file is not a trace FromDump can read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PcapError {
    /// Ends inside the file header.
    TooShort,
    /// First bytes of no format we know.
    Unknown([u8; 4]),
    /// A compression FromDump does not undo (its name).
    Compressed(&'static str),
    /// pcap major version other than 2.
    BadVersion(u16),
    /// A pcapng file that breaks the format's rules.
    Pcapng(String),
    /// Reading failed.
    Io(String),
}

/// What FromDump reads, for error messages.
const READABLE: &str = "FromDump reads pcap, pcapng and gzip'd pcap or pcapng";

impl fmt::Display for PcapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PcapError::TooShort => write!(f, "not a tcpdump file (too short)"),
            PcapError::Unknown(m) => write!(
                f,
                "not a tcpdump file: unknown format (first bytes {:02x} {:02x} {:02x} {:02x}); {READABLE}",
                m[0], m[1], m[2], m[3]
            ),
            PcapError::Compressed(c) => {
                write!(f, "{c}-compressed; {READABLE}: decompress it first")
            }
            PcapError::BadVersion(v) => write!(f, "unknown pcap major version {v}"),
            PcapError::Pcapng(m) => write!(f, "bad pcapng file: {m}"),
            PcapError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PcapError {}

impl From<io::Error> for PcapError {
    fn from(e: io::Error) -> PcapError {
        PcapError::Io(e.to_string())
    }
}

/// A parsed pcap file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// True when the file's byte order is not ours.
    pub swapped: bool,
    /// Timestamps carry nanoseconds.
    pub nanos: bool,
    /// Extra bytes after each record header (modified pcap).
    pub extra: usize,
    /// Minor version (caplen and len swap places before 2.3).
    pub minor: u16,
    /// Snapshot length.
    pub snaplen: u32,
    /// Link type, as written.
    pub linktype: u32,
}

/// One packet record; its captured bytes are [`Reader::data`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Seconds.
    pub sec: u32,
    /// Subsecond part, in nanoseconds.
    pub nsec: u32,
    /// Bytes captured.
    pub caplen: u32,
    /// Length on the wire.
    pub len: u32,
    /// Offset of the record in the (decompressed) stream.
    pub pos: u64,
}

/// What went wrong reading a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The file ends inside a record.
    Truncated,
    /// A capture length no real file has.
    BadLength(u32),
    /// A pcapng block that breaks the format's rules.
    Pcapng(String),
    /// Reading failed.
    Io(String),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Truncated => write!(f, "truncated packet record"),
            RecordError::BadLength(n) => {
                write!(f, "bad packet header (capture length {n}); giving up")
            }
            RecordError::Pcapng(m) => write!(f, "bad pcapng block: {m}; giving up"),
            RecordError::Io(e) => write!(f, "{e}"),
        }
    }
}

fn u32_at(b: &[u8], off: usize, swapped: bool) -> u32 {
    let v = u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]]);
    if swapped {
        v.swap_bytes()
    } else {
        v
    }
}

fn u16_at(b: &[u8], off: usize, swapped: bool) -> u16 {
    let v = u16::from_ne_bytes([b[off], b[off + 1]]);
    if swapped {
        v.swap_bytes()
    } else {
        v
    }
}

/// Parses a pcap file header.
pub fn parse_header(b: &[u8]) -> Result<Header, PcapError> {
    if b.len() < FILE_HEADER_LEN {
        return Err(PcapError::TooShort);
    }
    let magic = u32_at(b, 0, false);
    let known = |m: u32| [MAGIC_USEC, MAGIC_NSEC, MAGIC_MODIFIED].contains(&m);
    let swapped = if known(magic) {
        false
    } else if known(magic.swap_bytes()) {
        true
    } else {
        return Err(PcapError::Unknown(magic.to_ne_bytes()));
    };
    let magic = if swapped { magic.swap_bytes() } else { magic };
    let major = u16_at(b, 4, swapped);
    if major != 2 {
        return Err(PcapError::BadVersion(major));
    }
    Ok(Header {
        swapped,
        nanos: magic == MAGIC_NSEC,
        extra: if magic == MAGIC_MODIFIED { 8 } else { 0 },
        minor: u16_at(b, 6, swapped),
        snaplen: u32_at(b, 16, swapped),
        linktype: u32_at(b, 20, swapped),
    })
}

/// The largest capture length a record may claim (tcpdump's limit).
const MAX_CAPLEN: u32 = 0x40000;
/// The pcapng Section Header Block type; the same in both byte orders.
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
/// The pcapng byte-order magic.
const PCAPNG_BOM: u32 = 0x1a2b_3c4d;
/// Smallest pcapng block: type, length, trailing length.
const PCAPNG_MIN_BLOCK: u32 = 12;
/// Largest pcapng block body read into memory (a packet block holds at
/// most MAX_CAPLEN bytes of packet; options are small). Bigger blocks of
/// other types are skipped unread.
const PCAPNG_MAX_BODY: u32 = MAX_CAPLEN + 0x10000;

/// One pcapng interface: what its packets' link type and timestamps are.
#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: u32,
    snaplen: u32,
    /// Timestamp units per second (if_tsresol; default microseconds).
    units: u64,
    /// Seconds added to every timestamp (if_tsoffset).
    offset: i64,
}

/// The container being read.
enum Kind {
    Pcap(Header),
    Pcapng {
        swapped: bool,
        interfaces: Vec<Interface>,
    },
}

/// Reads a pcap or pcapng trace, gzip'd or not, record by record from any
/// `Read` or from a mapped file: memory stays bounded by one window of the
/// stream, whatever the trace's size.
pub struct Reader {
    src: Box<dyn Read>,
    /// A window of the stream, refilled from `src` or mapped from `file`:
    /// `win[start..end]` is read and not consumed. Records are parsed in
    /// place, so a packet is copied once, into its packet buffer.
    win: Window,
    /// The mapped file and its length, when the window maps it.
    file: Option<(std::fs::File, u64)>,
    start: usize,
    end: usize,
    eof: bool,
    kind: Kind,
    /// Nanoseconds per timestamp unit (1 or 1000) when the trace is pcap in
    /// our byte order, version 2.3 or later and unmodified: the records
    /// [`Reader::next_fast`] reads. 0 for every other trace.
    fast_scale: u32,
    /// The trace's link type (the first interface's, for pcapng).
    linktype: u32,
    /// Offset of `win[0]` in the (decompressed) stream.
    base: u64,
    /// The last record's captured bytes in `win`.
    data: std::ops::Range<usize>,
    /// The container's name ("pcap", "gzip'd pcapng" ...).
    format: String,
}

/// Bytes read from the source at a time; also the most a record may take
/// (MAX_CAPLEN and its headers fit).
const WINDOW: usize = 1 << 20;

/// Bytes of a file mapped at a time. The window moves on (one `mmap`, the
/// old one unmapped) when a record crosses its end, so the resident part
/// of the trace and the address space it takes stay this small whatever
/// the file's size; a window holds any record (WINDOW) from wherever in
/// its first MAP_ALIGN bytes the record starts.
const MAP_WINDOW: usize = 4 << 20;

/// Mappings start at multiples of this: a multiple of every page size
/// Linux uses (4, 16 and 64 KiB).
const MAP_ALIGN: u64 = 1 << 16;

/// The bytes a [`Reader`] parses: a window of a regular file mapped (no
/// read calls; prefaulted, and unmapped when the reader moves past it), or
/// a window refilled from the source. The refilled window is an anonymous
/// mapping, so both are a pointer and a length and reading a record takes
/// no dispatch on which it is.
struct Window {
    ptr: *mut u8,
    len: usize,
    /// Refilled from the source (anonymous, writable), not a file.
    refilled: bool,
}

impl Window {
    /// Maps `len` (> 0) bytes of `f` from `offset` (a multiple of the
    /// page size) read-only, with its pages already in: one call instead of
    /// a page fault per 64 KiB as the reader walks through it.
    fn file(f: &std::fs::File, offset: u64, len: usize) -> io::Result<Window> {
        use std::os::fd::AsRawFd;
        Window::map(
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_POPULATE,
            f.as_raw_fd(),
            offset as libc::off_t,
            false,
        )
    }

    /// A zeroed writable window of `len` (> 0) bytes.
    fn refilled(len: usize) -> io::Result<Window> {
        let rw = libc::PROT_READ | libc::PROT_WRITE;
        Window::map(
            len,
            rw,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
            true,
        )
    }

    fn map(
        len: usize,
        prot: i32,
        flags: i32,
        fd: i32,
        offset: libc::off_t,
        refilled: bool,
    ) -> io::Result<Window> {
        // SAFETY: a new private mapping of `len` bytes (of an open file, or
        // anonymous with fd -1); the result is checked before use. If a
        // mapped file shrinks under the mapping, reading past its end
        // faults (SIGBUS), as in Click's FromDump with MMAP.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, fd, offset) };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Window {
            ptr: p.cast(),
            len,
            refilled,
        })
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes mapped readable until `self` drops, which
        // outlives this borrow; written only through `bytes_mut`, which
        // borrows `self` mutably.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The window's bytes to refill; `None` for a mapped file.
    fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        // SAFETY: as `bytes`; a refilled window is mapped writable, and
        // the mutable borrow of `self` makes this the only access.
        self.refilled
            .then(|| unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) })
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping `map` made; nothing borrows it any more.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// The name of a compression format by its magic, if we know it.
fn compression(m: &[u8]) -> Option<&'static str> {
    match m {
        [0x1f, 0x8b, ..] => Some("gzip"),
        [b'B', b'Z', b'h', ..] => Some("bzip2"),
        [0xfd, b'7', b'z', b'X', ..] => Some("xz"),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Some("zstd"),
        _ => None,
    }
}

fn io_err(e: io::Error) -> RecordError {
    RecordError::Io(e.to_string())
}

impl Reader {
    /// Opens the trace at `path`; with `mmap`, a regular file that is not
    /// compressed is mapped rather than read (Click's FromDump `MMAP`), a
    /// window at a time. If it cannot be mapped (an address-space limit),
    /// it is read.
    pub fn open(path: &str, mmap: bool) -> Result<Reader, PcapError> {
        let f = std::fs::File::open(path)?;
        let meta = f.metadata()?;
        let len = meta.len();
        if mmap && len > 0 && meta.is_file() {
            let n = len.min(MAP_WINDOW as u64) as usize;
            if let Ok(b) = Window::file(&f, 0, n) {
                if compression(&b.bytes()[..n.min(4)]) != Some("gzip") {
                    return Reader::start(Box::new(io::empty()), b, n, Some((f, len)));
                }
            }
        }
        Reader::new(Box::new(f))
    }

    /// Reads the file header(s) of the trace `src` holds. The format is
    /// told by the first bytes: gzip `1f 8b`, pcapng `0a 0d 0d 0a`, pcap
    /// `a1 b2 c3 d4` (microseconds) or `a1 b2 3c 4d` (nanoseconds) in
    /// either byte order.
    pub fn new(src: Box<dyn Read>) -> Result<Reader, PcapError> {
        Reader::start(src, Window::refilled(WINDOW)?, 0, None)
    }

    /// A reader of `win`, whose first `end` bytes hold the stream's start,
    /// the rest coming from `src` or, when `win` maps it, from `file`.
    fn start(
        src: Box<dyn Read>,
        win: Window,
        end: usize,
        file: Option<(std::fs::File, u64)>,
    ) -> Result<Reader, PcapError> {
        let eof = !win.refilled;
        let mut r = Reader {
            src,
            win,
            file,
            start: 0,
            end,
            eof,
            kind: Kind::Pcapng {
                swapped: false,
                interfaces: Vec::new(),
            },
            fast_scale: 0,
            linktype: 0,
            base: 0,
            data: 0..0,
            format: String::new(),
        };
        if r.have(4)? < 4 {
            return Err(PcapError::TooShort);
        }
        let mut gzipped = false;
        if compression(r.peek(4)) == Some("gzip") {
            // The decoder takes the stream from its first byte, which the
            // window holds. Multi-member: `cat a.gz b.gz` gunzips as one.
            let head = io::Cursor::new(r.peek(r.end - r.start).to_vec());
            let src = std::mem::replace(&mut r.src, Box::new(io::empty()));
            r.src = Box::new(flate2::read::MultiGzDecoder::new(head.chain(src)));
            (r.start, r.end, r.eof) = (0, 0, false);
            r.win = Window::refilled(WINDOW)?;
            r.file = None;
            if r.have(4)? < 4 {
                return Err(PcapError::TooShort);
            }
            gzipped = true;
        }
        let magic: [u8; 4] = r.peek(4).try_into().unwrap_or_default();
        if u32::from_ne_bytes(magic) == PCAPNG_SHB {
            r.section_header().map_err(|e| match e {
                RecordError::Truncated => PcapError::TooShort,
                RecordError::Io(e) => PcapError::Io(e),
                e => PcapError::Pcapng(e.to_string()),
            })?;
            // The link type comes with the first interface; reading up to
            // it leaves the trace's first record for `next_record`.
            r.first_interface()?;
            r.format = "pcapng".into();
        } else if let Some(c) = compression(&magic) {
            return Err(PcapError::Compressed(c));
        } else {
            let n = r.have(FILE_HEADER_LEN)?;
            let m = u32::from_ne_bytes(magic);
            let known = [MAGIC_USEC, MAGIC_NSEC, MAGIC_MODIFIED]
                .iter()
                .any(|&k| k == m || k == m.swap_bytes());
            if n < FILE_HEADER_LEN {
                return Err(if known {
                    PcapError::TooShort
                } else {
                    PcapError::Unknown(magic)
                });
            }
            let h = parse_header(r.peek(FILE_HEADER_LEN))?;
            r.consume(FILE_HEADER_LEN);
            r.linktype = h.linktype;
            if !h.swapped && h.minor > 3 && h.extra == 0 {
                r.fast_scale = if h.nanos { 1 } else { 1000 };
            }
            r.kind = Kind::Pcap(h);
            r.format = "pcap".into();
        }
        if gzipped {
            r.format = format!("gzip'd {}", r.format);
        }
        Ok(r)
    }

    /// The trace's link type, as written.
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// The container: `pcap`, `pcapng`, `gzip'd pcap` or `gzip'd pcapng`.
    pub fn format(&self) -> &str {
        &self.format
    }

    /// Offset of the next record in the (decompressed) stream.
    #[inline]
    pub fn position(&self) -> u64 {
        self.base + self.start as u64
    }

    /// The captured bytes of the record [`Reader::next_record`] returned last.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.win.bytes()[self.data.clone()]
    }

    /// Skips forward to offset `pos` of the stream (FromDump's FILEPOS);
    /// nothing happens if the reader is there or past it already.
    pub fn skip_to(&mut self, pos: u64) -> io::Result<()> {
        self.skip(pos.saturating_sub(self.position())).map(|_| ())
    }

    /// The next packet record; `Ok(None)` at the end of the trace.
    #[inline]
    pub fn next_record(&mut self) -> Result<Option<Record>, RecordError> {
        match self.next_fast() {
            Some(r) => Ok(Some(r)),
            None => self.next_slow(),
        }
    }

    /// The next record of a native pcap trace when it lies whole in the
    /// window, as nearly every record does: one header read, one bounds
    /// test, nothing consumed otherwise, so [`Reader::next_slow`] then
    /// reads the same record (refilling, or reporting the error).
    #[inline(always)]
    fn next_fast(&mut self) -> Option<Record> {
        if self.fast_scale == 0 {
            return None;
        }
        let rest = self.win.bytes().get(self.start..self.end)?;
        let (hdr, data) = rest.split_first_chunk::<RECORD_HEADER_LEN>()?;
        let word = |i: usize| u32::from_ne_bytes([hdr[i], hdr[i + 1], hdr[i + 2], hdr[i + 3]]);
        let (sec, frac, stored, len) = (word(0), word(4), word(8), word(12));
        // A bad length, or a record not all read yet: the slow path's.
        if stored > MAX_CAPLEN || stored as usize > data.len() {
            return None;
        }
        let pos = self.position();
        let total = RECORD_HEADER_LEN + stored as usize;
        let caplen = stored.min(len);
        let at = self.start + RECORD_HEADER_LEN;
        self.data = at..at + caplen as usize;
        self.consume(total);
        Some(Record {
            sec,
            nsec: frac.wrapping_mul(self.fast_scale),
            caplen,
            len,
            pos,
        })
    }

    /// [`Reader::next_record`] for every record [`Reader::next_fast`] leaves.
    #[cold]
    #[inline(never)]
    fn next_slow(&mut self) -> Result<Option<Record>, RecordError> {
        match self.kind {
            Kind::Pcap(h) => self.next_pcap(&h),
            Kind::Pcapng { .. } => self.next_pcapng(),
        }
    }

    /// Makes `n` (at most WINDOW) unread bytes available, or as many as
    /// are left; returns how many that is.
    #[inline]
    fn have(&mut self, n: usize) -> io::Result<usize> {
        if self.end - self.start >= n {
            return Ok(n);
        }
        self.refill(n)
    }

    #[cold]
    fn refill(&mut self, n: usize) -> io::Result<usize> {
        if let Some((f, len)) = &self.file {
            let pos = self.base + self.start as u64;
            if self.base + self.end as u64 >= *len {
                // The window reaches the file's end: all there is, is there.
                return Ok((self.end - self.start).min(n));
            }
            let off = pos & !(MAP_ALIGN - 1);
            let maplen = (*len - off).min(MAP_WINDOW as u64) as usize;
            // The old window goes (unmapped) as the new one comes.
            self.win = Window::file(f, off, maplen)?;
            self.base = off;
            (self.start, self.end) = ((pos - off) as usize, maplen);
            self.data = 0..0;
            return Ok((self.end - self.start).min(n));
        }
        let Some(win) = self.win.bytes_mut() else {
            return Ok((self.end - self.start).min(n));
        };
        win.copy_within(self.start..self.end, 0);
        self.base += self.start as u64;
        (self.start, self.end) = (0, self.end - self.start);
        while self.end < n && !self.eof {
            match self.src.read(&mut win[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end.min(n))
    }

    /// The next `n` unread bytes (made available by `have`).
    fn peek(&self, n: usize) -> &[u8] {
        &self.win.bytes()[self.start..self.start + n]
    }

    #[inline]
    fn consume(&mut self, n: usize) {
        self.start += n;
    }

    /// Consumes `n` bytes, or up to the end; how many were there.
    fn skip(&mut self, mut n: u64) -> io::Result<u64> {
        let mut done = 0;
        while n > 0 {
            let k = self.have(n.min(WINDOW as u64) as usize)?;
            if k == 0 {
                break;
            }
            self.consume(k);
            (n, done) = (n - k as u64, done + k as u64);
        }
        Ok(done)
    }

    fn next_pcap(&mut self, h: &Header) -> Result<Option<Record>, RecordError> {
        let pos = self.position();
        let hl = RECORD_HEADER_LEN + h.extra;
        match self.have(hl).map_err(io_err)? {
            0 => return Ok(None),
            n if n < hl => {
                self.consume(n);
                return Err(RecordError::Truncated);
            }
            _ => {}
        }
        let hdr = self.peek(RECORD_HEADER_LEN);
        let [sec, frac, a, c] = [0, 4, 8, 12].map(|i| u32_at(hdr, i, h.swapped));
        // Before version 2.3 the two lengths were written the other way round.
        let (stored, len) = if h.minor > 3 || (h.minor == 3 && a <= c) {
            (a, c)
        } else {
            (c, a)
        };
        if stored > MAX_CAPLEN {
            return Err(RecordError::BadLength(stored));
        }
        let total = hl + stored as usize;
        let n = self.have(total).map_err(io_err)?;
        if n < total {
            self.consume(n);
            return Err(RecordError::Truncated);
        }
        // Some tools write a capture length larger than the wire length;
        // the surplus bytes are skipped, as tcpdump does.
        let caplen = stored.min(len);
        let data = self.start + hl;
        self.data = data..data + caplen as usize;
        self.consume(total);
        Ok(Some(Record {
            sec,
            // Microsecond files: at most 999999 us, so no overflow.
            nsec: if h.nanos {
                frac
            } else {
                frac.wrapping_mul(1000)
            },
            caplen,
            len,
            pos,
        }))
    }
}

/// pcapng (draft-ietf-opsawg-pcapng): a sequence of blocks, each `type`,
/// `total length`, body padded to 4 bytes, `total length` again, all in
/// the byte order of the section's header block. The blocks read here:
/// Section Header (0x0a0d0d0a: byte-order magic 0x1a2b3c4d, version 1.x,
/// section length, options), Interface Description (1: link type u16,
/// reserved u16, snaplen u32, options, of which `if_tsresol` (9) and
/// `if_tsoffset` (14) matter), Enhanced Packet (6: interface u32,
/// timestamp high u32 and low u32 in the interface's units, captured
/// length u32, original length u32, data, options), Simple Packet (3:
/// original length u32, data; interface 0, no timestamp) and the obsolete
/// Packet block (2: interface u16, drops u16, then as Enhanced). Every
/// other block is skipped.
impl Reader {
    fn swapped(&self) -> bool {
        matches!(self.kind, Kind::Pcapng { swapped: true, .. })
    }

    /// Reads the Section Header Block at the window's start.
    fn section_header(&mut self) -> Result<(), RecordError> {
        if self.have(28).map_err(io_err)? < 28 {
            return Err(RecordError::Truncated);
        }
        let b = self.peek(28);
        let swapped = match u32_at(b, 8, false) {
            PCAPNG_BOM => false,
            m if m.swap_bytes() == PCAPNG_BOM => true,
            m => {
                return Err(RecordError::Pcapng(format!(
                    "bad byte-order magic {m:#010x}"
                )))
            }
        };
        let (total, major) = (u32_at(b, 4, swapped), u16_at(b, 12, swapped));
        if total < 28 || !total.is_multiple_of(4) || total > PCAPNG_MAX_BODY {
            return Err(RecordError::Pcapng(format!(
                "section header block of {total} bytes"
            )));
        }
        if major != 1 {
            return Err(RecordError::Pcapng(format!(
                "unknown major version {major}"
            )));
        }
        if self.skip(total as u64).map_err(io_err)? < total as u64 {
            return Err(RecordError::Truncated);
        }
        // A new section starts afresh: its own byte order and interfaces.
        self.kind = Kind::Pcapng {
            swapped,
            interfaces: Vec::new(),
        };
        Ok(())
    }

    /// Reads blocks up to and including the first Interface Description.
    fn first_interface(&mut self) -> Result<(), PcapError> {
        loop {
            match self.block().map_err(|e| match e {
                RecordError::Io(e) => PcapError::Io(e),
                RecordError::Truncated => PcapError::TooShort,
                e => PcapError::Pcapng(e.to_string()),
            })? {
                None => {
                    return Err(PcapError::Pcapng(
                        "no interface description block before the end".into(),
                    ))
                }
                Some((1, body)) => {
                    self.interface(body)
                        .map_err(|e| PcapError::Pcapng(e.to_string()))?;
                    return Ok(());
                }
                Some((t, _)) if [2, 3, 6].contains(&t) => {
                    return Err(PcapError::Pcapng(
                        "packet block before any interface description".into(),
                    ))
                }
                Some(_) => {}
            }
        }
    }

    /// Reads the next block and returns its type and, for the blocks read
    /// here, where its body (without the trailing length) is in the
    /// window; `Ok(None)` at the end. Section headers are handled here,
    /// other blocks are skipped.
    fn block(&mut self) -> Result<Option<(u32, std::ops::Range<usize>)>, RecordError> {
        match self.have(8).map_err(io_err)? {
            0 => return Ok(None),
            n if n < 8 => {
                self.consume(n);
                return Err(RecordError::Truncated);
            }
            _ => {}
        }
        if u32_at(self.peek(4), 0, false) == PCAPNG_SHB {
            self.section_header()?;
            return Ok(Some((PCAPNG_SHB, 0..0)));
        }
        let swapped = self.swapped();
        let (ty, total) = (
            u32_at(self.peek(8), 0, swapped),
            u32_at(self.peek(8), 4, swapped),
        );
        if total < PCAPNG_MIN_BLOCK || !total.is_multiple_of(4) {
            return Err(RecordError::Pcapng(format!(
                "block of type {ty:#x} has length {total}"
            )));
        }
        if ![1, 2, 3, 6].contains(&ty) {
            if self.skip(total as u64).map_err(io_err)? < total as u64 {
                return Err(RecordError::Truncated);
            }
            return Ok(Some((ty, 0..0)));
        }
        if total > PCAPNG_MAX_BODY {
            return Err(RecordError::BadLength(total));
        }
        let n = self.have(total as usize).map_err(io_err)?;
        if n < total as usize {
            self.consume(n);
            return Err(RecordError::Truncated);
        }
        let body = self.start + 8..self.start + total as usize - 4;
        self.consume(total as usize);
        Ok(Some((ty, body)))
    }

    /// Records the Interface Description Block whose body is `body`.
    fn interface(&mut self, body: std::ops::Range<usize>) -> Result<(), RecordError> {
        let swapped = self.swapped();
        let b = &self.win.bytes()[body];
        if b.len() < 8 {
            return Err(RecordError::Pcapng("short interface description".into()));
        }
        let mut ifc = Interface {
            linktype: u16_at(b, 0, swapped) as u32,
            snaplen: u32_at(b, 4, swapped),
            units: 1_000_000,
            offset: 0,
        };
        let mut off = 8;
        while off + 4 <= b.len() {
            let (code, len) = (
                u16_at(b, off, swapped),
                u16_at(b, off + 2, swapped) as usize,
            );
            let val = b.get(off + 4..off + 4 + len).ok_or_else(|| {
                RecordError::Pcapng("interface option runs past its block".into())
            })?;
            match (code, len) {
                (0, _) => break,
                (9, 1) => {
                    let v = val[0];
                    ifc.units = if v & 0x80 == 0 {
                        10u64.checked_pow(v as u32)
                    } else {
                        1u64.checked_shl((v & 0x7f) as u32)
                    }
                    .filter(|&u| u > 0)
                    .ok_or_else(|| RecordError::Pcapng(format!("if_tsresol {v:#x}")))?;
                }
                (14, 8) => {
                    let v = u64::from_ne_bytes(<[u8; 8]>::try_from(val).unwrap_or_default());
                    ifc.offset = if swapped { v.swap_bytes() } else { v } as i64;
                }
                _ => {}
            }
            off += 4 + len.next_multiple_of(4);
        }
        if let Kind::Pcapng { interfaces, .. } = &mut self.kind {
            if interfaces.is_empty() && self.linktype == 0 {
                self.linktype = ifc.linktype;
            }
            interfaces.push(ifc);
        }
        Ok(())
    }

    fn next_pcapng(&mut self) -> Result<Option<Record>, RecordError> {
        loop {
            let pos = self.position();
            let Some((ty, body)) = self.block()? else {
                return Ok(None);
            };
            let swapped = self.swapped();
            let b = &self.win.bytes()[body.clone()];
            let (ifc, ts, caplen, len, data_off) = match ty {
                1 => {
                    self.interface(body)?;
                    continue;
                }
                6 | 2 if b.len() >= 20 => {
                    let ifc = if ty == 6 {
                        u32_at(b, 0, swapped)
                    } else {
                        u16_at(b, 0, swapped) as u32
                    };
                    let ts = (u32_at(b, 4, swapped) as u64) << 32 | u32_at(b, 8, swapped) as u64;
                    (
                        ifc,
                        Some(ts),
                        u32_at(b, 12, swapped),
                        u32_at(b, 16, swapped),
                        20,
                    )
                }
                3 if b.len() >= 4 => {
                    let len = u32_at(b, 0, swapped);
                    let room = (b.len() - 4) as u32;
                    let snap = self.interface_at(0).map_or(0, |i| i.snaplen);
                    let cap = len.min(room).min(if snap == 0 { u32::MAX } else { snap });
                    (0, None, cap, len, 4)
                }
                2 | 3 | 6 => {
                    return Err(RecordError::Pcapng(format!(
                        "short packet block (type {ty})"
                    )))
                }
                _ => continue,
            };
            let Some(i) = self.interface_at(ifc) else {
                return Err(RecordError::Pcapng(format!(
                    "packet of interface {ifc}, which was never described"
                )));
            };
            if i.linktype != self.linktype {
                return Err(RecordError::Pcapng(format!(
                    "interface {ifc} has link type {}, the trace's first interface {}; \
                     FromDump reads one link type",
                    i.linktype, self.linktype
                )));
            }
            if caplen > MAX_CAPLEN || data_off + caplen as usize > body.len() {
                return Err(RecordError::BadLength(caplen));
            }
            let (sec, nsec) = match ts {
                Some(t) => {
                    let whole = (t / i.units) as i64 + i.offset;
                    let frac = (t % i.units) as u128 * 1_000_000_000 / i.units as u128;
                    (whole as u32, frac as u32)
                }
                None => (0, 0),
            };
            let caplen = caplen.min(len);
            let data = body.start + data_off;
            self.data = data..data + caplen as usize;
            return Ok(Some(Record {
                sec,
                nsec,
                caplen,
                len,
                pos,
            }));
        }
    }

    fn interface_at(&self, i: u32) -> Option<Interface> {
        match &self.kind {
            Kind::Pcapng { interfaces, .. } => interfaces.get(i as usize).copied(),
            Kind::Pcap(_) => None,
        }
    }
}

/// A pcap file header for writing (native byte order).
pub fn file_header(nanos: bool, snaplen: u32, linktype: u32) -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    let magic = if nanos { MAGIC_NSEC } else { MAGIC_USEC };
    h[0..4].copy_from_slice(&magic.to_ne_bytes());
    h[4..6].copy_from_slice(&2u16.to_ne_bytes());
    h[6..8].copy_from_slice(&4u16.to_ne_bytes());
    h[16..20].copy_from_slice(&snaplen.to_ne_bytes());
    h[20..24].copy_from_slice(&linktype.to_ne_bytes());
    h
}

/// A record header for writing (native byte order).
pub fn record_header(sec: u32, frac: u32, caplen: u32, len: u32) -> [u8; RECORD_HEADER_LEN] {
    let mut h = [0u8; RECORD_HEADER_LEN];
    h[0..4].copy_from_slice(&sec.to_ne_bytes());
    h[4..8].copy_from_slice(&frac.to_ne_bytes());
    h[8..12].copy_from_slice(&caplen.to_ne_bytes());
    h[12..16].copy_from_slice(&len.to_ne_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{gzip, pcapng_file, NgBlock};

    fn file(magic_be: bool, nanos: bool, recs: &[(&[u8], u32)]) -> Vec<u8> {
        let w32 = |v: u32| {
            if magic_be {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if magic_be {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut b = Vec::new();
        b.extend(w32(if nanos { MAGIC_NSEC } else { MAGIC_USEC }));
        b.extend(w16(2));
        b.extend(w16(4));
        b.extend([0; 8]);
        b.extend(w32(65535));
        b.extend(w32(1));
        for (i, (data, len)) in recs.iter().enumerate() {
            b.extend(w32(100 + i as u32));
            b.extend(w32(if nanos { 5_000 } else { 5 }));
            b.extend(w32(data.len() as u32));
            b.extend(w32(*len));
            b.extend(*data);
        }
        b
    }

    fn reader(b: &[u8]) -> Result<Reader, PcapError> {
        Reader::new(Box::new(io::Cursor::new(b.to_vec())))
    }

    /// Records with their bytes, and how reading ended.
    type Outcome = (Vec<(Record, Vec<u8>)>, Result<(), RecordError>);

    /// Every record of `b`.
    fn all(b: &[u8]) -> Outcome {
        let mut r = reader(b).unwrap();
        let mut v = Vec::new();
        loop {
            match r.next_record() {
                Ok(Some(rec)) => v.push((rec, r.data().to_vec())),
                Ok(None) => return (v, Ok(())),
                Err(e) => return (v, Err(e)),
            }
        }
    }

    #[test]
    fn reads_both_byte_orders_and_resolutions() {
        for be in [false, true] {
            for nanos in [false, true] {
                let b = file(be, nanos, &[(&[1, 2, 3], 3), (&[4; 10], 60)]);
                let (r, end) = all(&b);
                assert_eq!(end, Ok(()));
                assert_eq!(r.len(), 2);
                let r0 = r[0].0;
                assert_eq!(
                    (r0.sec, r0.nsec, r0.caplen, r0.len, r0.pos),
                    (100, 5000, 3, 3, 24)
                );
                assert_eq!(r[1].1, [4; 10]);
                assert_eq!((r[1].0.len, r[1].0.pos), (60, 24 + 16 + 3));
                assert_eq!(reader(&b).unwrap().format(), "pcap");
            }
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(reader(&[0xd4, 0xc3]).err(), Some(PcapError::TooShort));
        assert_eq!(
            reader(&[0xd4, 0xc3, 0xb2, 0xa1, 2]).err(),
            Some(PcapError::TooShort)
        );
        let e = reader(b"this is not a pcap file").err().unwrap();
        assert_eq!(e, PcapError::Unknown(*b"this"));
        let m = e.to_string();
        assert!(m.contains("74 68 69 73") && m.contains("pcapng"), "{m}");
        for (magic, name) in [
            (&b"BZh91AY&SY"[..], "bzip2"),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0][..], "xz"),
            (&[0x28, 0xb5, 0x2f, 0xfd, 0, 0][..], "zstd"),
        ] {
            let e = reader(magic).err().unwrap();
            assert_eq!(e, PcapError::Compressed(name));
            assert!(e.to_string().starts_with(&format!("{name}-compressed")));
        }
        let mut b = file(false, false, &[(&[1, 2, 3, 4], 4), (&[5; 4], 4)]);
        b.truncate(b.len() - 2);
        let (r, end) = all(&b);
        assert_eq!((r.len(), end), (1, Err(RecordError::Truncated)));
        let mut b = file(false, false, &[(&[1; 8], 8)]);
        b[32..36].copy_from_slice(&(MAX_CAPLEN + 1).to_le_bytes());
        assert_eq!(all(&b).1, Err(RecordError::BadLength(MAX_CAPLEN + 1)));
        assert_eq!(all(&file(false, false, &[])).0.len(), 0);
    }

    #[test]
    fn written_headers_read_back() {
        let mut b = file_header(true, 2000, 101).to_vec();
        b.extend(record_header(7, 123_456_789, 2, 9));
        b.extend([0xaa, 0xbb]);
        let (r, _) = all(&b);
        let (rec, data) = &r[0];
        assert_eq!(
            (rec.sec, rec.nsec, rec.caplen, rec.len),
            (7, 123_456_789, 2, 9)
        );
        assert_eq!(data, &[0xaa, 0xbb]);
        assert_eq!(reader(&b).unwrap().linktype(), 101);
    }

    #[test]
    fn pcapng_in_both_byte_orders_with_every_packet_block() {
        for be in [false, true] {
            let b = pcapng_file(
                be,
                &[
                    NgBlock::Interface {
                        linktype: 1,
                        snaplen: 6,
                        tsresol: None,
                    },
                    NgBlock::Other(0xbad),
                    NgBlock::Enhanced {
                        ifc: 0,
                        ts: 1_500_000_250_000,
                        data: vec![1, 2, 3],
                        len: 3,
                    },
                    NgBlock::Simple {
                        data: vec![4; 6],
                        len: 60,
                    },
                    NgBlock::Packet {
                        ifc: 0,
                        ts: 2_000_000,
                        data: vec![5; 5],
                        len: 5,
                    },
                ],
            );
            let r = reader(&b).unwrap();
            assert_eq!((r.format(), r.linktype()), ("pcapng", 1));
            let (recs, end) = all(&b);
            assert_eq!(end, Ok(()));
            let got: Vec<_> = recs
                .iter()
                .map(|(r, d)| (r.sec, r.nsec, r.caplen, r.len, d.clone()))
                .collect();
            assert_eq!(
                got,
                [
                    (1_500_000, 250_000_000, 3, 3, vec![1, 2, 3]),
                    (0, 0, 6, 60, vec![4; 6]),
                    (2, 0, 5, 5, vec![5; 5]),
                ]
            );
        }
    }

    #[test]
    fn pcapng_timestamp_resolutions_and_sections() {
        // Nanoseconds (10^-9), then a second section whose interface counts
        // in 2^-10 s: each section has its own interfaces.
        let mut b = pcapng_file(
            false,
            &[
                NgBlock::Interface {
                    linktype: 1,
                    snaplen: 0,
                    tsresol: Some(9),
                },
                NgBlock::Enhanced {
                    ifc: 0,
                    ts: 3_000_000_007,
                    data: vec![1],
                    len: 1,
                },
            ],
        );
        b.extend(pcapng_file(
            true,
            &[
                NgBlock::Interface {
                    linktype: 1,
                    snaplen: 0,
                    tsresol: Some(0x80 | 10),
                },
                NgBlock::Enhanced {
                    ifc: 0,
                    ts: 5 * 1024 + 512,
                    data: vec![2],
                    len: 1,
                },
            ],
        ));
        let (recs, end) = all(&b);
        assert_eq!(end, Ok(()));
        let ts: Vec<_> = recs.iter().map(|(r, _)| (r.sec, r.nsec)).collect();
        assert_eq!(ts, [(3, 7), (5, 500_000_000)]);
    }

    #[test]
    fn pcapng_errors_name_the_problem() {
        let no_ifc = pcapng_file(false, &[]);
        let e = reader(&no_ifc).err().unwrap().to_string();
        assert!(e.contains("no interface description"), "{e}");
        let early = pcapng_file(
            false,
            &[NgBlock::Simple {
                data: vec![1],
                len: 1,
            }],
        );
        let e = reader(&early).err().unwrap().to_string();
        assert!(e.contains("before any interface"), "{e}");
        let mixed = pcapng_file(
            false,
            &[
                NgBlock::Interface {
                    linktype: 1,
                    snaplen: 0,
                    tsresol: None,
                },
                NgBlock::Interface {
                    linktype: 101,
                    snaplen: 0,
                    tsresol: None,
                },
                NgBlock::Enhanced {
                    ifc: 0,
                    ts: 0,
                    data: vec![1],
                    len: 1,
                },
                NgBlock::Enhanced {
                    ifc: 1,
                    ts: 0,
                    data: vec![1],
                    len: 1,
                },
                NgBlock::Enhanced {
                    ifc: 7,
                    ts: 0,
                    data: vec![1],
                    len: 1,
                },
            ],
        );
        let (recs, end) = all(&mixed);
        assert_eq!(recs.len(), 1);
        assert!(end.unwrap_err().to_string().contains("link type 101"));
        let mut cut = pcapng_file(
            false,
            &[
                NgBlock::Interface {
                    linktype: 1,
                    snaplen: 0,
                    tsresol: None,
                },
                NgBlock::Enhanced {
                    ifc: 0,
                    ts: 0,
                    data: vec![1; 40],
                    len: 40,
                },
            ],
        );
        cut.truncate(cut.len() - 9);
        assert_eq!(all(&cut), (vec![], Err(RecordError::Truncated)));
        let mut bom = pcapng_file(false, &[]);
        bom[8] ^= 0xff;
        let e = reader(&bom).err().unwrap().to_string();
        assert!(e.contains("byte-order magic"), "{e}");
    }

    #[test]
    fn gzip_wraps_either_format() {
        let pcap = file(true, true, &[(&[9; 7], 7)]);
        let ng = pcapng_file(
            false,
            &[
                NgBlock::Interface {
                    linktype: 1,
                    snaplen: 0,
                    tsresol: None,
                },
                NgBlock::Enhanced {
                    ifc: 0,
                    ts: 1,
                    data: vec![9; 7],
                    len: 7,
                },
            ],
        );
        for (b, name) in [(pcap, "gzip'd pcap"), (ng, "gzip'd pcapng")] {
            let z = gzip(&b);
            assert_eq!(reader(&z).unwrap().format(), name);
            let (recs, end) = all(&z);
            assert_eq!((recs.len(), end), (1, Ok(())));
            assert_eq!(recs[0].1, [9; 7]);
        }
        let e = reader(&gzip(b"plain text, gzip'd")).err().unwrap();
        assert_eq!(e, PcapError::Unknown(*b"plai"));
        // A cut gzip stream is an error wherever the cut falls.
        let mut z = gzip(&file(false, false, &[(&[1; 100], 100)]));
        z.truncate(z.len() / 2);
        let failed = match reader(&z) {
            Err(e) => matches!(e, PcapError::Io(_)),
            Ok(mut r) => loop {
                match r.next_record() {
                    Ok(Some(_)) => {}
                    Ok(None) => break false,
                    Err(_) => break true,
                }
            },
        };
        assert!(failed);
    }

    /// Hands out at most 1000 bytes a read, so records straddle refills.
    struct Trickle(io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1000);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn records_across_window_refills_read_as_from_a_mapped_file() {
        // Many windows' worth (read and mapped) of records of many sizes, some near
        // MAX_CAPLEN, so refills fall inside headers and inside data.
        let sizes = (0..400u32).map(|i| match i % 7 {
            0 => MAX_CAPLEN as usize - i as usize,
            k => (i * 37 % 1500) as usize + k as usize,
        });
        let bodies: Vec<Vec<u8>> = sizes
            .enumerate()
            .map(|(i, n)| (0..n).map(|j| (i * 31 + j) as u8).collect())
            .collect();
        let recs: Vec<(&[u8], u32)> = bodies.iter().map(|b| (&b[..], b.len() as u32)).collect();
        let b = file(false, true, &recs);
        assert!(b.len() > 3 * MAP_WINDOW);
        let dir = crate::testutil::Scratch::new("pcap-window");
        let path = dir.path("big.pcap");
        std::fs::write(&path, &b).unwrap();
        let readers = [
            Reader::new(Box::new(Trickle(io::Cursor::new(b.clone())))).unwrap(),
            Reader::open(&path, true).unwrap(),
            Reader::open(&path, false).unwrap(),
        ];
        for mut r in readers {
            let mut pos = FILE_HEADER_LEN as u64;
            for (i, body) in bodies.iter().enumerate() {
                let rec = r.next_record().unwrap().unwrap();
                assert_eq!((rec.pos, rec.sec, rec.nsec), (pos, 100 + i as u32, 5000));
                assert_eq!(r.data(), &body[..], "record {i}");
                pos += (RECORD_HEADER_LEN + body.len()) as u64;
                assert_eq!(r.position(), pos);
            }
            assert_eq!(r.next_record(), Ok(None));
        }
    }

    #[test]
    fn skip_to_moves_forward_only() {
        let b = file(false, false, &[(&[1; 4], 4), (&[2; 4], 4)]);
        let mut r = reader(&b).unwrap();
        r.skip_to(10).unwrap();
        assert_eq!(r.position(), 24);
        r.skip_to(24 + 20).unwrap();
        assert_eq!(r.next_record().unwrap().unwrap().pos, 44);
        assert_eq!(r.data(), [2; 4]);
        assert_eq!(r.next_record(), Ok(None));
    }

    #[test]
    fn link_type_names() {
        assert_eq!(linktype_by_name("ether"), Some(1));
        assert_eq!(linktype_by_name("IP"), Some(101));
        assert_eq!(linktype_name(12), "IP");
        assert_eq!(linktype_name(1), "ETHER");
        assert_eq!(linktype_name(9999), "UNKNOWN");
    }
}
