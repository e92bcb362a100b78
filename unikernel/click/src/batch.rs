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

    /// Keeps the packets for which `f` is true; hands the others to `drop`.
    pub fn retain(&mut self, mut f: impl FnMut(&mut Packet) -> bool, mut drop: impl FnMut(Packet)) {
        let mut kept = heapless::Vec::<Packet, BATCH_MAX>::new();
        for mut p in core::mem::take(&mut self.0) {
            if f(&mut p) {
                // Cannot overflow: at most as many as were taken out.
                let _ = kept.push(p);
            } else {
                drop(p);
            }
        }
        self.0 = kept;
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
