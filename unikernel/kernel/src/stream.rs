//! Non-blocking byte streams: the host channel the xenstore client talks
//! over (virtio-console on KVM; the Xen store ring later).

/// A bidirectional byte stream that never blocks.
pub trait ByteStream {
    /// Reads available bytes into `buf`; returns how many (0 = none now).
    fn read(&mut self, buf: &mut [u8]) -> usize;

    /// Writes as much of `buf` as the channel takes now; returns how many.
    fn write(&mut self, buf: &[u8]) -> usize;
}
