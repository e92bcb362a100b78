//! Helpers for the runner's unit tests: scratch directories, pcap files,
//! routers on simulated time with an in-memory host.

use std::path::PathBuf;
use std::rc::Rc;

use click::host::MemoryHost;
use click::router::Env;
use click::time::SimClock;
use click::Router;

use crate::pcap;

/// A fresh scratch directory, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "mb-runner-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    pub fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A microsecond pcap with these (seconds, microseconds, bytes) records.
pub fn pcap_file(linktype: u32, recs: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let mut b = pcap::file_header(false, 65535, linktype).to_vec();
    for (s, us, d) in recs {
        b.extend(pcap::record_header(*s, *us, d.len() as u32, d.len() as u32));
        b.extend(d);
    }
    b
}

/// One block of a pcapng file written by [`pcapng_file`].
pub enum NgBlock {
    /// Interface Description (type 1), with `if_tsresol` if given.
    Interface {
        linktype: u16,
        snaplen: u32,
        tsresol: Option<u8>,
    },
    /// Enhanced Packet (type 6); `ts` in the interface's units.
    Enhanced {
        ifc: u32,
        ts: u64,
        data: Vec<u8>,
        len: u32,
    },
    /// Simple Packet (type 3).
    Simple { data: Vec<u8>, len: u32 },
    /// The obsolete Packet block (type 2).
    Packet {
        ifc: u16,
        ts: u64,
        data: Vec<u8>,
        len: u32,
    },
    /// A block of another type, with a 4-byte body readers must skip.
    Other(u32),
}

/// A pcapng section: its header block (byte-order magic, version 1.0,
/// section length -1, no options), then `blocks`, all big-endian if `be`.
/// Each block is type, total length, body padded to 4, total length.
pub fn pcapng_file(be: bool, blocks: &[NgBlock]) -> Vec<u8> {
    let w32 = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let w16 = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut out = Vec::new();
    let mut block = |ty: u32, body: Vec<u8>| {
        let mut body = body;
        body.resize(body.len().next_multiple_of(4), 0);
        let total = body.len() as u32 + 12;
        out.extend(w32(ty));
        out.extend(w32(total));
        out.extend(body);
        out.extend(w32(total));
    };
    let mut shb = w32(0x1a2b_3c4d).to_vec();
    shb.extend(w16(1));
    shb.extend(w16(0));
    shb.extend([0xff; 8]);
    block(0x0a0d_0d0a, shb);
    let padded = |d: &[u8]| {
        let mut d = d.to_vec();
        d.resize(d.len().next_multiple_of(4), 0);
        d
    };
    for b in blocks {
        match b {
            NgBlock::Interface {
                linktype,
                snaplen,
                tsresol,
            } => {
                let mut body = w16(*linktype).to_vec();
                body.extend(w16(0));
                body.extend(w32(*snaplen));
                if let Some(r) = tsresol {
                    body.extend(w16(9));
                    body.extend(w16(1));
                    body.extend([*r, 0, 0, 0]);
                    body.extend([0; 4]); // opt_endofopt
                }
                block(1, body);
            }
            NgBlock::Enhanced { ifc, ts, data, len } => {
                let mut body = w32(*ifc).to_vec();
                body.extend(w32((ts >> 32) as u32));
                body.extend(w32(*ts as u32));
                body.extend(w32(data.len() as u32));
                body.extend(w32(*len));
                body.extend(padded(data));
                block(6, body);
            }
            NgBlock::Simple { data, len } => {
                let mut body = w32(*len).to_vec();
                body.extend(padded(data));
                block(3, body);
            }
            NgBlock::Packet { ifc, ts, data, len } => {
                let mut body = w16(*ifc).to_vec();
                body.extend(w16(0));
                body.extend(w32((ts >> 32) as u32));
                body.extend(w32(*ts as u32));
                body.extend(w32(data.len() as u32));
                body.extend(w32(*len));
                body.extend(padded(data));
                block(2, body);
            }
            NgBlock::Other(ty) => block(*ty, vec![1, 2, 3, 4]),
        }
    }
    out
}

/// `b` gzip'd.
pub fn gzip(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(b).unwrap();
    z.finish().unwrap()
}

/// An Ethernet/IPv4/UDP frame of `len` bytes (at least 42) from 10.0.0.`src`.
pub fn udp_frame(src: u8, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len.max(42)];
    f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[12] = 0x08;
    f[14] = 0x45;
    let ip_len = (f.len() - 14) as u16;
    f[16..18].copy_from_slice(&ip_len.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&[10, 0, 0, src]);
    f[30..34].copy_from_slice(&[10, 0, 1, 1]);
    f
}

/// Builds `src` on simulated time with a memory host.
pub fn sim_router(src: &str) -> (Router, Rc<MemoryHost>) {
    let host = Rc::new(MemoryHost::default());
    let env = Env {
        clock: Box::new(SimClock::new()),
        host: Box::new(host.clone()),
    };
    match crate::build_in(src, "test", &[], env) {
        Ok(r) => (r, host),
        Err(e) => panic!("{e}"),
    }
}

/// One record read back: (sec, nsec, wire length, bytes).
pub type Rec = (u32, u32, u32, Vec<u8>);

/// The link type and records of a pcap file.
pub fn read_records(path: &str) -> (u32, Vec<Rec>) {
    let mut r = pcap::Reader::open(path, true).unwrap();
    let mut v = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        v.push((rec.sec, rec.nsec, rec.len, r.data().to_vec()));
    }
    (r.linktype(), v)
}
