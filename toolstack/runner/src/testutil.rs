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
    let b = std::fs::read(path).unwrap();
    let h = pcap::parse_header(&b).unwrap();
    let mut pos = pcap::FILE_HEADER_LEN;
    let mut v = Vec::new();
    while let Some(r) = pcap::record_at(&b, &h, pos).unwrap() {
        v.push((
            r.sec,
            r.nsec,
            r.len,
            b[r.data..r.data + r.caplen as usize].to_vec(),
        ));
        pos = r.next;
    }
    (h.linktype, v)
}
