//! Batches: up to [`BATCH_MAX`] packets moved through the graph together, so
//! one virtual call and one borrow serve many packets. Stored inline: a
//! batch never allocates.

use crate::packet::Packet;

/// Most packets in one batch.
pub const BATCH_MAX: usize = 32;

/// A batch of packets, stored inline.
#[derive(Default)]
pub struct Batch(heapless::Vec<Packet, BATCH_MAX>);

impl Batch {
    /// An empty batch.
    pub const fn new() -> Self {
        Batch(heapless::Vec::new())
    }

    /// Adds a packet; gives it back when the batch is full.
    #[inline]
    pub fn push(&mut self, p: Packet) -> Result<(), Packet> {
        self.0.push(p)
    }

    /// Number of packets.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when no more packets fit.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.0.is_full()
    }

    /// The packets, mutably.
    #[inline]
    pub fn iter_mut(&mut self) -> core::slice::IterMut<'_, Packet> {
        self.0.iter_mut()
    }

    /// The packets.
    #[inline]
    pub fn iter(&self) -> core::slice::Iter<'_, Packet> {
        self.0.iter()
    }

    /// Keeps the packets for which `f` is true, in order; hands the others
    /// to `drop`. Packets stay in place up to the first one dropped.
    pub fn retain(&mut self, mut f: impl FnMut(&mut Packet) -> bool, mut drop: impl FnMut(Packet)) {
        let n = self.0.len();
        let mut i = 0;
        while i < n && f(&mut self.0[i]) {
            i += 1;
        }
        if i == n {
            return;
        }
        let tail: heapless::Vec<Packet, BATCH_MAX> = self.0.drain(i..).collect();
        let mut tail = tail.into_iter();
        // The first packet of the tail already failed `f`.
        if let Some(p) = tail.next() {
            drop(p);
        }
        for mut p in tail {
            if f(&mut p) {
                // Cannot overflow: at most as many as were taken out.
                if let Err(p) = self.0.push(p) {
                    drop(p);
                }
            } else {
                drop(p);
            }
        }
    }
}

impl IntoIterator for Batch {
    type Item = Packet;
    type IntoIter = <heapless::Vec<Packet, BATCH_MAX> as IntoIterator>::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl core::fmt::Debug for Batch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Batch(len={})", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_keeps_order_and_drops_the_rest() {
        for pattern in 0u32..64 {
            let mut b = Batch::new();
            for i in 0..6u8 {
                b.push(Packet::from_slice(&[i])).unwrap();
            }
            let mut dropped = alloc::vec::Vec::new();
            let mut calls = 0;
            b.retain(
                |p| {
                    calls += 1;
                    pattern & (1 << p.data()[0]) != 0
                },
                |p| dropped.push(p.data()[0]),
            );
            assert_eq!(calls, 6, "each packet is tested once");
            let kept: alloc::vec::Vec<u8> = b.iter().map(|p| p.data()[0]).collect();
            let want: alloc::vec::Vec<u8> = (0..6).filter(|i| pattern & (1 << i) != 0).collect();
            let want_dropped: alloc::vec::Vec<u8> =
                (0..6).filter(|i| pattern & (1 << i) == 0).collect();
            assert_eq!(kept, want);
            assert_eq!(dropped, want_dropped);
        }
    }
}
