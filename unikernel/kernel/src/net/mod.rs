//! NICs as the router sees them: numbered devices that receive and send
//! raw Ethernet frames in batches.

pub mod frame;

use alloc::boxed::Box;
use alloc::vec::Vec;

pub use frame::Frame;

/// A network interface: batched receive and send of raw Ethernet frames
/// (no FCS). Implementations never block.
pub trait Nic {
    /// The MAC address the device was configured with.
    fn mac(&self) -> [u8; 6];

    /// Appends up to `max` received frames to `out`; returns how many.
    fn recv(&mut self, out: &mut Vec<Frame>, max: usize) -> usize;

    /// Queues one frame for sending; gives it back when the ring is full.
    fn send(&mut self, frame: Frame) -> Result<(), Frame>;

    /// Queues one frame like [`send`](Self::send), telling the device only
    /// if `last`: a burst of sends ending with `last` costs the device one
    /// notification (a VM exit) instead of one per frame.
    fn send_deferred(&mut self, frame: Frame, last: bool) -> Result<(), Frame> {
        let _ = last;
        self.send(frame)
    }

    /// Frames `send` will accept right now (after reclaiming finished ones).
    fn tx_room(&mut self) -> usize;

    /// Frames the device or driver dropped since the last call (for
    /// example for want of memory for receive buffers).
    fn take_drops(&mut self) -> u64 {
        0
    }

    /// Sends frames from the front of `frames` until the ring is full;
    /// returns how many left (the rest stay in `frames`, in order).
    fn send_batch(&mut self, frames: &mut Vec<Frame>) -> usize {
        let room = self.tx_room().min(frames.len());
        let mut sent = 0;
        for frame in frames.drain(..room) {
            match self.send_deferred(frame, sent + 1 == room) {
                Ok(()) => sent += 1,
                Err(_) => break, // room was reported, so this only drops on a device error
            }
        }
        sent
    }
}

/// The numbered NICs lent to the router.
pub trait NicSet {
    /// Number of NICs.
    fn count(&self) -> usize;
    /// NIC `i`, if it exists.
    fn nic(&mut self, i: usize) -> Option<&mut (dyn Nic + '_)>;
    /// MAC of NIC `i`, if it exists.
    fn mac(&self, i: usize) -> Option<[u8; 6]>;
}

impl NicSet for Vec<Box<dyn Nic>> {
    fn count(&self) -> usize {
        self.len()
    }
    fn nic(&mut self, i: usize) -> Option<&mut (dyn Nic + '_)> {
        match self.get_mut(i) {
            Some(b) => Some(&mut **b),
            None => None,
        }
    }
    fn mac(&self, i: usize) -> Option<[u8; 6]> {
        self.get(i).map(|n| n.mac())
    }
}
