//! The contract between the main loop and "the router" (the guest's
//! [`crate::middlebox::Middlebox`]), and the Click engine's glue: [`click`]
//! binds a `click::Router` to the NICs, [`elements`] holds the device
//! elements, [`env`] the engine's clock and output.
//!
//! Each loop iteration calls [`Router::poll`] with an [`Io`] that lends the
//! NICs (numbered in `-device` order), the host byte stream and the clock.
//! When `poll` reports no work and the deadline from
//! [`Router::next_deadline`] is in the future, the loop arms device
//! interrupts and halts until a frame, store input or that deadline.

pub mod click;
pub mod elements;
pub mod env;

use alloc::vec::Vec;

use crate::net::{Frame, NicSet};
use crate::stream::ByteStream;

/// What the main loop drives.
pub trait Router {
    /// Does one round of work (receive, process, send, store I/O);
    /// returns true if anything happened, so the loop polls again at once.
    fn poll(&mut self, io: &mut Io<'_>) -> bool;

    /// Monotonic time (ns since boot, see [`Io::now_ns`]) by which `poll`
    /// must run again even if no I/O arrives; `None` for "only on I/O".
    fn next_deadline(&self) -> Option<u64> {
        None
    }

    /// Frames received, sent and dropped on all NICs since boot.
    fn frames(&self) -> (u64, u64, u64) {
        (0, 0, 0)
    }
}

/// The devices and clock lent to [`Router::poll`].
pub struct Io<'a> {
    nics: &'a mut dyn NicSet,
    store: Option<&'a mut dyn ByteStream>,
    state: Option<&'a mut dyn ByteStream>,
    now_ns: u64,
}

impl<'a> Io<'a> {
    /// Bundles the devices for one poll.
    pub fn new(
        nics: &'a mut dyn NicSet,
        store: Option<&'a mut dyn ByteStream>,
        now_ns: u64,
    ) -> Io<'a> {
        Io {
            nics,
            store,
            state: None,
            now_ns,
        }
    }

    /// Lends the state channel too (see [`Io::state`]).
    pub fn with_state(mut self, state: Option<&'a mut dyn ByteStream>) -> Io<'a> {
        self.state = state;
        self
    }

    /// Number of NICs; they are numbered `0..nic_count()`.
    pub fn nic_count(&self) -> usize {
        self.nics.count()
    }

    /// MAC address of NIC `nic`.
    pub fn mac(&self, nic: usize) -> Option<[u8; 6]> {
        self.nics.mac(nic)
    }

    /// Appends up to `max` frames received on `nic` to `out`; returns how
    /// many (0 for an unknown NIC).
    pub fn recv(&mut self, nic: usize, out: &mut Vec<Frame>, max: usize) -> usize {
        self.nics.nic(nic).map_or(0, |n| n.recv(out, max))
    }

    /// Sends frames from the front of `frames` on `nic` while the ring has
    /// room; returns how many went (the rest stay, in order).
    pub fn send_batch(&mut self, nic: usize, frames: &mut Vec<Frame>) -> usize {
        self.nics.nic(nic).map_or(0, |n| n.send_batch(frames))
    }

    /// Frames `nic`'s driver dropped since the last call.
    pub fn take_drops(&mut self, nic: usize) -> u64 {
        self.nics.nic(nic).map_or(0, |n| n.take_drops())
    }

    /// Frames `nic` accepts right now.
    pub fn tx_room(&mut self, nic: usize) -> usize {
        self.nics.nic(nic).map_or(0, |n| n.tx_room())
    }

    /// The host byte stream (the xenstore channel), if the VM has one.
    pub fn store(&mut self) -> Option<&mut (dyn ByteStream + 'a)> {
        self.store.as_deref_mut()
    }

    /// The state channel (element state in bulk), if the VM has one.
    pub fn state(&mut self) -> Option<&mut (dyn ByteStream + 'a)> {
        self.state.as_deref_mut()
    }

    /// Monotonic nanoseconds since boot, sampled at the start of this poll.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }
}
