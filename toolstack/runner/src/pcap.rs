//! The pcap file format (tcpdump's), read and written.
//!
//! Both byte orders, microsecond and nanosecond timestamps are read; files
//! are written in native order with nanosecond timestamps, as Click's
//! ToDump does. A reader works on the whole file in memory, so handing out
//! a packet is a bounds check and a copy.

use std::fmt;

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

/// Why a file is not a readable pcap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PcapError {
    /// Shorter than a file header.
    TooShort,
    /// Unknown magic number.
    BadMagic(u32),
    /// Major version other than 2.
    BadVersion(u16),
}

impl fmt::Display for PcapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PcapError::TooShort => write!(f, "not a tcpdump file (too short)"),
            PcapError::BadMagic(m) => {
                write!(f, "not a tcpdump file (bad magic number {m:#010x})")
            }
            PcapError::BadVersion(v) => write!(f, "unknown major version {v}"),
        }
    }
}

impl std::error::Error for PcapError {}

/// A parsed file header.
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

/// One record: where its bytes are in the file and what its header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Seconds.
    pub sec: u32,
    /// Subsecond part, in nanoseconds.
    pub nsec: u32,
    /// Bytes captured (and present in the file).
    pub caplen: u32,
    /// Length on the wire.
    pub len: u32,
    /// Offset of the packet bytes in the file.
    pub data: usize,
    /// Offset of the record header.
    pub pos: usize,
    /// Offset of the next record.
    pub next: usize,
}

/// What went wrong reading a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The file ends inside a record.
    Truncated,
    /// A capture length no real file has.
    BadLength(u32),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Truncated => write!(f, "truncated packet record"),
            RecordError::BadLength(n) => {
                write!(f, "bad packet header (capture length {n}); giving up")
            }
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

/// Parses the file header.
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
        return Err(PcapError::BadMagic(magic));
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

/// Reads the record at `pos`; `Ok(None)` at the end of the file.
#[inline]
pub fn record_at(b: &[u8], h: &Header, pos: usize) -> Result<Option<Record>, RecordError> {
    let data = pos + RECORD_HEADER_LEN + h.extra;
    let Some(hdr) = b.get(pos..pos + RECORD_HEADER_LEN) else {
        return if pos >= b.len() {
            Ok(None)
        } else {
            Err(RecordError::Truncated)
        };
    };
    let word = |i: usize| {
        let v = u32::from_ne_bytes([hdr[i], hdr[i + 1], hdr[i + 2], hdr[i + 3]]);
        if h.swapped {
            v.swap_bytes()
        } else {
            v
        }
    };
    let (sec, frac, a, c) = (word(0), word(4), word(8), word(12));
    // Before version 2.3 the two lengths were written the other way round.
    let (stored, len) = if h.minor > 3 || (h.minor == 3 && a <= c) {
        (a, c)
    } else {
        (c, a)
    };
    if stored > 0x40000 {
        return Err(RecordError::BadLength(stored));
    }
    let next = data + stored as usize;
    if next > b.len() {
        return Err(RecordError::Truncated);
    }
    Ok(Some(Record {
        sec,
        // Microsecond files: at most 999999 us, so no overflow.
        nsec: if h.nanos {
            frac
        } else {
            frac.wrapping_mul(1000)
        },
        // Some tools write a capture length larger than the wire length;
        // the surplus bytes are skipped, as tcpdump does.
        caplen: stored.min(len),
        len,
        data,
        pos,
        next,
    }))
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

    fn all(b: &[u8]) -> Vec<Record> {
        let h = parse_header(b).unwrap();
        let mut pos = FILE_HEADER_LEN;
        let mut v = Vec::new();
        while let Some(r) = record_at(b, &h, pos).unwrap() {
            pos = r.next;
            v.push(r);
        }
        v
    }

    #[test]
    fn reads_both_byte_orders_and_resolutions() {
        for be in [false, true] {
            for nanos in [false, true] {
                let b = file(be, nanos, &[(&[1, 2, 3], 3), (&[4; 10], 60)]);
                let r = all(&b);
                assert_eq!(r.len(), 2);
                assert_eq!(
                    (r[0].sec, r[0].nsec, r[0].caplen, r[0].len),
                    (100, 5000, 3, 3)
                );
                assert_eq!(&b[r[1].data..r[1].data + 10], &[4; 10]);
                assert_eq!(r[1].len, 60);
            }
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(parse_header(&[0; 10]), Err(PcapError::TooShort));
        assert!(matches!(
            parse_header(&[7; 24]),
            Err(PcapError::BadMagic(_))
        ));
        let mut b = file(false, false, &[(&[1, 2, 3, 4], 4)]);
        b.truncate(b.len() - 2);
        let h = parse_header(&b).unwrap();
        assert_eq!(
            record_at(&b, &h, FILE_HEADER_LEN),
            Err(RecordError::Truncated)
        );
        let b = file(false, false, &[]);
        assert_eq!(record_at(&b, &h, FILE_HEADER_LEN), Ok(None));
    }

    #[test]
    fn written_headers_read_back() {
        let mut b = file_header(true, 2000, 101).to_vec();
        b.extend(record_header(7, 123_456_789, 2, 9));
        b.extend([0xaa, 0xbb]);
        let h = parse_header(&b).unwrap();
        assert!(h.nanos && !h.swapped);
        assert_eq!((h.snaplen, h.linktype), (2000, 101));
        let r = record_at(&b, &h, FILE_HEADER_LEN).unwrap().unwrap();
        assert_eq!((r.sec, r.nsec, r.caplen, r.len), (7, 123_456_789, 2, 9));
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
