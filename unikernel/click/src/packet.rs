//! Packets: a buffer with headroom and tailroom, the data window inside it,
//! and Click's annotations.
//!
//! `Strip`/`Unstrip`/`EtherEncap` only move the window (`pull`/`push`), so
//! the bytes in front of the data survive, exactly as in Click: `Unstrip(14)`
//! after `Strip(14)` restores the original Ethernet header. Header
//! annotations are offsets into the buffer, so they survive those moves too.
//!
//! A packet owns its buffer; `clone` copies it (Click shares the buffer and
//! copies on write, which is observably the same). Packets are recycled
//! through a [`PacketPool`] so the fast path allocates nothing; a guest's
//! drivers receive straight into pooled packets ([`Packet::buffer_mut`],
//! [`Packet::reset_window`]). Allocation is fallible where traffic drives
//! it ([`PacketPool::alloc`], [`Packet::clone_in`], [`Packet::try_with_room`]
//! return `None` when memory is short).

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use crate::time::Timestamp;

/// Bytes kept free in front of new packets (room for Ethernet + VLAN +
/// an outer IP/UDP header without copying).
pub const DEFAULT_HEADROOM: usize = 64;
/// Bytes kept free behind new packets.
pub const DEFAULT_TAILROOM: usize = 32;
/// Buffer size the pool hands out for ordinary frames.
pub const DEFAULT_BUFFER: usize = 2048;
/// The largest packet length a configuration or a handler write may ask
/// for (a source's LENGTH, Unstrip's bytes): the largest IP packet. Click
/// takes any `int` and fails later when the packet cannot be made; a
/// bound here keeps a config from sizing an allocation at will.
pub const MAX_CONFIG_LEN: usize = 65535;
/// Size of the user annotation area, as in Click 2.1 (`Packet::anno_size`).
pub const ANNO_SIZE: usize = 48;

/// Click's annotation offsets inside the user area (`packet_anno.hh`).
pub mod anno {
    /// Destination IP address annotation (4 bytes).
    pub const DST_IP: usize = 0;
    /// Destination IPv6 address annotation (16 bytes; shares its start
    /// with `DST_IP`, as in Click).
    pub const DST_IP6: usize = 0;
    /// Paint (colour) annotation (1 byte).
    pub const PAINT: usize = 16;
    /// ICMP parameter problem pointer (1 byte).
    pub const ICMP_PARAMPROB: usize = 17;
    /// Set when an IP source address must be fixed (1 byte).
    pub const FIX_IP_SRC: usize = 19;
    /// Forward rate (4 bytes).
    pub const FWD_RATE: usize = 20;
    /// Reverse rate (4 bytes).
    pub const REV_RATE: usize = 24;
    /// Aggregate number (4 bytes).
    pub const AGGREGATE: usize = 28;
    /// Extra packets (4 bytes).
    pub const EXTRA_PACKETS: usize = 32;
    /// Extra length (4 bytes).
    pub const EXTRA_LENGTH: usize = 36;
    /// First timestamp (8 bytes).
    pub const FIRST_TIMESTAMP: usize = 40;
}

/// Click's packet type annotation (`Packet::PacketType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum PacketType {
    /// Addressed to this host.
    #[default]
    Host = 0,
    /// Link-layer broadcast.
    Broadcast = 1,
    /// Link-layer multicast.
    Multicast = 2,
    /// Addressed to another host.
    OtherHost = 3,
    /// Sent by this host.
    Outgoing = 4,
    /// Looped back.
    Loopback = 5,
    /// Fast-routed.
    FastRoute = 6,
}

/// Annotations carried with a packet.
#[derive(Clone, Debug)]
pub struct Anno {
    /// Timestamp annotation (arrival time, or the pcap record's time).
    pub timestamp: Timestamp,
    /// Link-layer packet type.
    pub packet_type: PacketType,
    /// Input device number (NIC index), if known.
    pub device: Option<u16>,
    /// Offset of the MAC header in the buffer.
    mac: Option<u32>,
    /// Offset of the network header in the buffer.
    network: Option<u32>,
    /// Offset of the transport header in the buffer.
    transport: Option<u32>,
    /// Click's user annotation bytes (dst IP, paint, aggregate ...).
    pub user: [u8; ANNO_SIZE],
}

impl Default for Anno {
    fn default() -> Self {
        Anno {
            timestamp: Timestamp::ZERO,
            packet_type: PacketType::Host,
            device: None,
            mac: None,
            network: None,
            transport: None,
            user: [0; ANNO_SIZE],
        }
    }
}

struct Inner {
    buf: Box<[u8]>,
    /// Start of the data window.
    head: usize,
    /// End of the data window.
    tail: usize,
    anno: Anno,
}

/// A network packet. Pointer-sized, so batches of packets are cheap to move.
pub struct Packet(Box<Inner>);

impl Packet {
    /// A zero-filled packet of `len` bytes with default headroom and tailroom.
    pub fn new(len: usize) -> Packet {
        Packet::with_room(DEFAULT_HEADROOM, len, DEFAULT_TAILROOM)
    }

    /// A packet holding a copy of `data`.
    pub fn from_slice(data: &[u8]) -> Packet {
        let mut p = Packet::new(data.len());
        p.data_mut().copy_from_slice(data);
        p
    }

    /// A zero-filled packet of `len` bytes with the given room around it.
    pub fn with_room(headroom: usize, len: usize, tailroom: usize) -> Packet {
        let size = headroom + len + tailroom;
        Packet(Box::new(Inner {
            buf: vec![0u8; size].into_boxed_slice(),
            head: headroom,
            tail: headroom + len,
            anno: Anno::default(),
        }))
    }

    /// Like [`Packet::with_room`], or `None` when memory is short.
    pub fn try_with_room(headroom: usize, len: usize, tailroom: usize) -> Option<Packet> {
        let size = headroom.checked_add(len)?.checked_add(tailroom)?;
        let buf = crate::fallible::filled_vec(size, 0u8)?.into_boxed_slice();
        crate::fallible::try_box(Inner {
            buf,
            head: headroom,
            tail: headroom + len,
            anno: Anno::default(),
        })
        .ok()
        .map(Packet)
    }

    /// Wraps an existing buffer (for example a device's receive buffer) whose
    /// data lies at `head..head+len`.
    ///
    /// Returns `None` if the window does not fit in the buffer.
    pub fn from_buffer(buf: Box<[u8]>, head: usize, len: usize) -> Option<Packet> {
        let tail = head.checked_add(len)?;
        if tail > buf.len() {
            return None;
        }
        Some(Packet(Box::new(Inner {
            buf,
            head,
            tail,
            anno: Anno::default(),
        })))
    }

    /// Gives the buffer back (for a device to reuse), with the data window.
    pub fn into_buffer(self) -> (Box<[u8]>, usize, usize) {
        let i = *self.0;
        (i.buf, i.head, i.tail - i.head)
    }

    /// The packet's bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.0.buf[self.0.head..self.0.tail]
    }

    /// The packet's bytes, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        let i = &mut *self.0;
        &mut i.buf[i.head..i.tail]
    }

    /// Length of the data.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.tail - self.0.head
    }

    /// True for a zero-length packet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free bytes in front of the data.
    #[inline]
    pub fn headroom(&self) -> usize {
        self.0.head
    }

    /// Free bytes behind the data.
    #[inline]
    pub fn tailroom(&self) -> usize {
        self.0.buf.len() - self.0.tail
    }

    /// Offset of the data's first byte in the buffer.
    #[inline]
    pub fn data_offset(&self) -> usize {
        self.0.head
    }

    /// The whole buffer, headroom and tailroom included.
    pub fn buffer(&self) -> &[u8] {
        &self.0.buf
    }

    /// The whole buffer, writable (for a driver filling it by DMA).
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        &mut self.0.buf
    }

    /// Makes `head..head+len` of the buffer the data and clears the
    /// annotations, as for a packet just received into this buffer; false
    /// (and nothing changed) if the window does not fit.
    pub fn reset_window(&mut self, head: usize, len: usize) -> bool {
        let i = &mut *self.0;
        match head.checked_add(len) {
            Some(tail) if tail <= i.buf.len() => {
                i.head = head;
                i.tail = tail;
                i.anno = Anno::default();
                true
            }
            _ => false,
        }
    }

    /// Removes `n` bytes from the front (Click's `pull`). Stripping more than
    /// the length leaves an empty packet.
    #[inline]
    pub fn pull(&mut self, n: usize) {
        let n = n.min(self.len());
        self.0.head += n;
    }

    /// Adds `n` bytes at the front (Click's `push`), using headroom when
    /// there is enough and reallocating otherwise. The new bytes keep
    /// whatever the buffer held there (so `Unstrip` restores old headers).
    pub fn push(&mut self, n: usize) {
        if n > self.0.head {
            self.regrow(n - self.0.head + DEFAULT_HEADROOM, 0);
        }
        self.0.head -= n;
    }

    /// Adds `n` zero... (or previous) bytes at the end (Click's `put`).
    pub fn put(&mut self, n: usize) {
        if n > self.tailroom() {
            self.regrow(0, n - self.tailroom() + DEFAULT_TAILROOM);
        }
        self.0.tail += n;
    }

    /// Removes `n` bytes from the end (Click's `take`).
    #[inline]
    pub fn take(&mut self, n: usize) {
        let n = n.min(self.len());
        self.0.tail -= n;
    }

    /// Sets the length, keeping the start (trimming or extending the tail).
    pub fn set_len(&mut self, len: usize) {
        if len <= self.len() {
            self.take(self.len() - len);
        } else {
            self.put(len - self.len());
        }
    }

    fn regrow(&mut self, extra_head: usize, extra_tail: usize) {
        let i = &mut *self.0;
        let mut nb = vec![0u8; i.buf.len() + extra_head + extra_tail].into_boxed_slice();
        nb[extra_head..extra_head + i.buf.len()].copy_from_slice(&i.buf);
        i.buf = nb;
        i.head += extra_head;
        i.tail += extra_head;
        let shift = |o: &mut Option<u32>| {
            if let Some(v) = o {
                *v += extra_head as u32;
            }
        };
        shift(&mut i.anno.mac);
        shift(&mut i.anno.network);
        shift(&mut i.anno.transport);
    }

    /// The annotations.
    #[inline]
    pub fn anno(&self) -> &Anno {
        &self.0.anno
    }

    /// The annotations, writable.
    #[inline]
    pub fn anno_mut(&mut self) -> &mut Anno {
        &mut self.0.anno
    }

    /// Timestamp annotation.
    #[inline]
    pub fn timestamp(&self) -> Timestamp {
        self.0.anno.timestamp
    }

    /// Sets the timestamp annotation.
    #[inline]
    pub fn set_timestamp(&mut self, t: Timestamp) {
        self.0.anno.timestamp = t;
    }

    /// Destination IP annotation.
    pub fn dst_ip_anno(&self) -> [u8; 4] {
        let u = &self.0.anno.user;
        [u[0], u[1], u[2], u[3]]
    }

    /// Sets the destination IP annotation.
    pub fn set_dst_ip_anno(&mut self, a: [u8; 4]) {
        self.0.anno.user[anno::DST_IP..anno::DST_IP + 4].copy_from_slice(&a);
    }

    /// Destination IPv6 annotation.
    pub fn dst_ip6_anno(&self) -> [u8; 16] {
        let mut a = [0; 16];
        a.copy_from_slice(&self.0.anno.user[anno::DST_IP6..anno::DST_IP6 + 16]);
        a
    }

    /// Sets the destination IPv6 annotation.
    pub fn set_dst_ip6_anno(&mut self, a: [u8; 16]) {
        self.0.anno.user[anno::DST_IP6..anno::DST_IP6 + 16].copy_from_slice(&a);
    }

    /// Paint annotation.
    pub fn paint(&self) -> u8 {
        self.0.anno.user[anno::PAINT]
    }

    /// Sets the paint annotation.
    pub fn set_paint(&mut self, c: u8) {
        self.0.anno.user[anno::PAINT] = c;
    }

    /// One user annotation byte (`None` past the area).
    pub fn anno_u8(&self, off: usize) -> Option<u8> {
        self.0.anno.user.get(off).copied()
    }

    /// Sets one user annotation byte; false past the area.
    pub fn set_anno_u8(&mut self, off: usize, v: u8) -> bool {
        match self.0.anno.user.get_mut(off) {
            Some(b) => {
                *b = v;
                true
            }
            None => false,
        }
    }

    /// A native-endian u32 user annotation.
    pub fn anno_u32(&self, off: usize) -> Option<u32> {
        let b = self.0.anno.user.get(off..off + 4)?;
        Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Sets a native-endian u32 user annotation; false past the area.
    pub fn set_anno_u32(&mut self, off: usize, v: u32) -> bool {
        match self.0.anno.user.get_mut(off..off + 4) {
            Some(b) => {
                b.copy_from_slice(&v.to_ne_bytes());
                true
            }
            None => false,
        }
    }

    fn rel(&self, abs: Option<u32>) -> Option<isize> {
        abs.map(|a| a as isize - self.0.head as isize)
    }

    /// Offset of the MAC header relative to the data start (negative when
    /// it lies in the headroom), if set.
    pub fn mac_header_offset(&self) -> Option<isize> {
        self.rel(self.0.anno.mac)
    }

    /// Marks the MAC header at `off` bytes from the data start.
    pub fn set_mac_header(&mut self, off: usize) {
        self.0.anno.mac = Some((self.0.head + off) as u32);
    }

    /// Offset of the network (IP) header relative to the data start.
    pub fn network_header_offset(&self) -> Option<isize> {
        self.rel(self.0.anno.network)
    }

    /// Offset of the transport header relative to the data start.
    pub fn transport_header_offset(&self) -> Option<isize> {
        self.rel(self.0.anno.transport)
    }

    /// Marks the IP header at `off` bytes from the data start, `hlen` bytes
    /// long (the transport header follows it), as Click's `set_ip_header`.
    pub fn set_ip_header(&mut self, off: usize, hlen: usize) {
        let abs = self.0.head + off;
        self.0.anno.network = Some(abs as u32);
        self.0.anno.transport = Some((abs + hlen) as u32);
    }

    /// Marks a whole IPv4 header at `off` (version 4, header length at
    /// least 20 and inside the data) and sets the destination address
    /// annotation from it; false, with nothing set, for anything else.
    pub fn mark_ipv4_header(&mut self, off: usize) -> bool {
        let d = self.data();
        let Some(&vhl) = d.get(off) else { return false };
        let hl = usize::from(vhl & 15) * 4;
        if vhl >> 4 != 4 || hl < 20 || off + hl > d.len() {
            return false;
        }
        let dst = [d[off + 16], d[off + 17], d[off + 18], d[off + 19]];
        self.set_ip_header(off, hl);
        self.set_dst_ip_anno(dst);
        true
    }

    /// As [`Packet::mark_ipv4_header`], or a whole fixed IPv6 header at
    /// `off` (only the header annotations are set then).
    pub fn mark_ip_header(&mut self, off: usize) -> bool {
        match self.data().get(off).map(|b| b >> 4) {
            Some(4) => self.mark_ipv4_header(off),
            Some(6) if off + 40 <= self.len() => {
                self.set_ip_header(off, 40);
                true
            }
            _ => false,
        }
    }

    /// Marks the IPv4 header of an Ethernet frame (Ethernet type 0x0800),
    /// as device elements do for `FORCE_IP`; false for any other frame.
    pub fn mark_ether_ipv4_header(&mut self) -> bool {
        self.data().get(12..14) == Some(&[0x08, 0x00][..]) && self.mark_ipv4_header(14)
    }

    /// Clears the network and transport header annotations.
    pub fn clear_network_header(&mut self) {
        self.0.anno.network = None;
        self.0.anno.transport = None;
    }

    /// The bytes from the MAC header to the end of the data.
    pub fn mac_header(&self) -> Option<&[u8]> {
        self.0
            .anno
            .mac
            .and_then(|m| self.0.buf.get(m as usize..self.0.tail))
    }

    /// The bytes from the network header to the end of the data.
    pub fn network_header(&self) -> Option<&[u8]> {
        self.0
            .anno
            .network
            .and_then(|m| self.0.buf.get(m as usize..self.0.tail))
    }

    /// The bytes from the network header to the end of the data, writable.
    pub fn network_header_mut(&mut self) -> Option<&mut [u8]> {
        let i = &mut *self.0;
        i.anno
            .network
            .and_then(move |m| i.buf.get_mut(m as usize..i.tail))
    }

    /// The bytes from the transport header to the end of the data.
    pub fn transport_header(&self) -> Option<&[u8]> {
        self.0
            .anno
            .transport
            .and_then(|m| self.0.buf.get(m as usize..self.0.tail))
    }

    /// The bytes from the transport header to the end of the data, writable.
    pub fn transport_header_mut(&mut self) -> Option<&mut [u8]> {
        let i = &mut *self.0;
        i.anno
            .transport
            .and_then(move |m| i.buf.get_mut(m as usize..i.tail))
    }

    /// Length of the IP header (transport offset − network offset), if set.
    pub fn ip_header_len(&self) -> Option<usize> {
        match (self.0.anno.network, self.0.anno.transport) {
            (Some(n), Some(t)) if t >= n => Some((t - n) as usize),
            _ => None,
        }
    }

    /// Copies data and annotations into a packet from `pool`; `None` when
    /// memory is short.
    pub fn clone_in(&self, pool: &mut PacketPool) -> Option<Packet> {
        let mut p = pool.alloc_raw(self.0.buf.len())?;
        {
            let (s, d) = (&*self.0, &mut *p.0);
            d.buf[..s.buf.len()].copy_from_slice(&s.buf);
            d.head = s.head;
            d.tail = s.tail;
            d.anno = s.anno.clone();
        }
        Some(p)
    }
}

impl Clone for Packet {
    fn clone(&self) -> Packet {
        Packet(Box::new(Inner {
            buf: self.0.buf.clone(),
            head: self.0.head,
            tail: self.0.tail,
            anno: self.0.anno.clone(),
        }))
    }
}

impl core::fmt::Debug for Packet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Packet(len={}, headroom={})",
            self.len(),
            self.headroom()
        )
    }
}

/// A free list of packets so sources and sinks on the fast path reuse
/// buffers instead of allocating.
#[derive(Default)]
pub struct PacketPool {
    free: Vec<Packet>,
    limit: usize,
}

impl PacketPool {
    /// A pool keeping at most `limit` spare packets.
    pub fn new(limit: usize) -> Self {
        PacketPool {
            free: Vec::with_capacity(limit),
            limit,
        }
    }

    /// A packet with a buffer of at least `size` bytes; head/tail unset.
    fn alloc_raw(&mut self, size: usize) -> Option<Packet> {
        match self.take_spare(size) {
            Some(p) => Some(p),
            None => Packet::try_with_room(0, size.max(DEFAULT_BUFFER), 0),
        }
    }

    /// A packet of `len` bytes (contents unspecified) with at least the
    /// default headroom, and fresh annotations; `None` when memory is
    /// short (the caller drops what it would have made and counts it).
    #[inline]
    pub fn alloc(&mut self, len: usize) -> Option<Packet> {
        let size = DEFAULT_HEADROOM + len + DEFAULT_TAILROOM;
        // The spare on top almost always fits (ordinary frames).
        let mut p = match self.free.pop() {
            Some(p) if p.0.buf.len() >= size => p,
            top => self.alloc_cold(top, size)?,
        };
        let i = &mut *p.0;
        i.head = DEFAULT_HEADROOM;
        i.tail = DEFAULT_HEADROOM + len;
        i.anno = Anno::default();
        Some(p)
    }

    #[cold]
    fn alloc_cold(&mut self, top: Option<Packet>, size: usize) -> Option<Packet> {
        drop(top);
        self.alloc_raw(size)
    }

    /// Takes a packet back for reuse.
    #[inline]
    pub fn recycle(&mut self, p: Packet) {
        if self.free.len() < self.limit {
            self.free.push(p);
        }
    }

    /// Takes one spare packet whose buffer holds at least `size` bytes
    /// (for a driver to receive into); smaller spares are freed.
    pub fn take_spare(&mut self, size: usize) -> Option<Packet> {
        while let Some(p) = self.free.pop() {
            if p.0.buf.len() >= size {
                return Some(p);
            }
        }
        None
    }

    /// Number of spare packets held.
    pub fn spare(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ip_headers_are_marked_only_when_whole() {
        let mut f = [0u8; 34];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[30..34].copy_from_slice(&[10, 0, 0, 9]);
        let mut p = Packet::from_slice(&f);
        assert!(p.mark_ether_ipv4_header());
        assert_eq!(p.network_header_offset(), Some(14));
        assert_eq!(p.ip_header_len(), Some(20));
        assert_eq!(p.dst_ip_anno(), [10, 0, 0, 9]);
        // Options longer than the frame, a short frame, another type.
        f[14] = 0x46;
        assert!(!Packet::from_slice(&f).mark_ether_ipv4_header());
        f[14] = 0x45;
        assert!(!Packet::from_slice(&f[..33]).mark_ether_ipv4_header());
        f[12] = 0x86;
        assert!(!Packet::from_slice(&f).mark_ether_ipv4_header());
        // IPv6 needs its 40 bytes; version 5 is nothing.
        let mut v6 = [0u8; 40];
        v6[0] = 0x60;
        let mut p = Packet::from_slice(&v6);
        assert!(p.mark_ip_header(0));
        assert_eq!(p.ip_header_len(), Some(40));
        assert!(!Packet::from_slice(&v6[..39]).mark_ip_header(0));
        v6[0] = 0x50;
        assert!(!Packet::from_slice(&v6).mark_ip_header(0));
        assert!(!Packet::from_slice(&[]).mark_ip_header(0));
    }

    use super::*;

    #[test]
    fn strip_unstrip_restores_header() {
        let mut p = Packet::from_slice(&[1, 2, 3, 4, 5, 6]);
        p.pull(2);
        assert_eq!(p.data(), &[3, 4, 5, 6]);
        p.data_mut()[0] = 9;
        p.push(2);
        assert_eq!(p.data(), &[1, 2, 9, 4, 5, 6]);
    }

    #[test]
    fn push_beyond_headroom_reallocates_and_keeps_annotations() {
        let mut p = Packet::with_room(2, 4, 0);
        p.data_mut().copy_from_slice(&[7, 7, 7, 7]);
        p.set_ip_header(0, 2);
        p.push(10);
        assert_eq!(p.len(), 14);
        assert_eq!(&p.data()[10..], &[7, 7, 7, 7]);
        assert_eq!(p.network_header_offset(), Some(10));
        assert_eq!(p.transport_header_offset(), Some(12));
    }

    #[test]
    fn pull_past_end_leaves_empty() {
        let mut p = Packet::from_slice(&[1, 2, 3]);
        p.pull(10);
        assert!(p.is_empty());
        p.take(5);
        assert!(p.is_empty());
    }

    #[test]
    fn annotations() {
        let mut p = Packet::new(1);
        p.set_paint(3);
        p.set_dst_ip_anno([10, 0, 0, 1]);
        assert_eq!(p.paint(), 3);
        assert_eq!(p.dst_ip_anno(), [10, 0, 0, 1]);
        assert!(!p.set_anno_u32(46, 1));
        assert_eq!(p.anno_u8(48), None);
    }

    #[test]
    fn pool_reuses() {
        let mut pool = PacketPool::new(4);
        let p = pool.alloc(60).unwrap();
        pool.recycle(p);
        assert_eq!(pool.spare(), 1);
        let q = pool.alloc(100).unwrap();
        assert_eq!(q.len(), 100);
        assert_eq!(pool.spare(), 0);
    }

    #[test]
    fn pool_replaces_too_small_spares_and_resets_annotations() {
        let mut pool = PacketPool::new(4);
        let mut small = Packet::new(1);
        small.set_paint(7);
        pool.recycle(small);
        let p = pool.alloc(500).unwrap();
        assert_eq!((p.len(), p.headroom()), (500, DEFAULT_HEADROOM));
        assert_eq!(pool.spare(), 0);
        let mut q = pool.alloc(10).unwrap();
        q.set_paint(9);
        q.set_ip_header(0, 20);
        pool.recycle(q);
        let r = pool.alloc(10).unwrap();
        assert_eq!(r.paint(), 0);
        assert_eq!(r.network_header_offset(), None);
    }

    #[test]
    fn out_of_memory_is_none_not_a_panic() {
        let mut pool = PacketPool::new(4);
        pool.recycle(Packet::new(10));
        crate::fallible::fail_in_tests(true);
        // A spare still serves; past the spares there is nothing.
        let p = pool.alloc(10).expect("a spare needs no memory");
        assert!(pool.alloc(10).is_none());
        assert!(p.clone_in(&mut pool).is_none());
        assert!(Packet::try_with_room(0, 10, 0).is_none());
        crate::fallible::fail_in_tests(false);
        assert_eq!(p.clone_in(&mut pool).unwrap().len(), 10);
        assert!(Packet::try_with_room(usize::MAX, 1, 0).is_none());
    }

    #[test]
    fn drivers_refill_and_reset_the_window() {
        let mut pool = PacketPool::new(4);
        pool.recycle(Packet::with_room(0, 100, 0));
        pool.recycle(Packet::with_room(0, DEFAULT_BUFFER, 0));
        let mut p = pool.take_spare(DEFAULT_BUFFER).expect("the big spare");
        assert!(
            pool.take_spare(DEFAULT_BUFFER).is_none(),
            "the small one is freed"
        );
        p.set_paint(3);
        p.buffer_mut()[DEFAULT_HEADROOM] = 0xab;
        assert!(p.reset_window(DEFAULT_HEADROOM, 60));
        assert_eq!((p.len(), p.data()[0], p.paint()), (60, 0xab, 0));
        assert!(!p.reset_window(DEFAULT_BUFFER, 1));
        assert!(!p.reset_window(usize::MAX, 2));
        assert_eq!(p.len(), 60);
    }
}
