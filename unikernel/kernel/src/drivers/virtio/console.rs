//! virtio-console (single port) as a [`ByteStream`]: the host channel that
//! the xenstore protocol runs over on KVM.

use virtio_drivers::device::console::VirtIOConsole;
use virtio_drivers::transport::SomeTransport;

use super::hal::KernelHal;
use super::net::InitError;
use super::transport::NoEventIdx;
use crate::mainloop::Wakeup;
use crate::stream::ByteStream;

/// One virtio-console device, port 0.
pub struct VirtioConsole {
    dev: VirtIOConsole<KernelHal, NoEventIdx<SomeTransport<'static>>>,
}

impl VirtioConsole {
    /// Initializes the device behind `transport` (MMIO or PCI).
    pub fn new(transport: SomeTransport<'static>) -> Result<VirtioConsole, InitError> {
        let dev = VirtIOConsole::new(NoEventIdx(transport))
            .map_err(|_| InitError("virtio-console init failed"))?;
        Ok(VirtioConsole { dev })
    }
}

impl ByteStream for VirtioConsole {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        while n < buf.len() {
            match self.dev.recv(true) {
                Ok(Some(b)) => {
                    buf[n] = b;
                    n += 1;
                }
                _ => break,
            }
        }
        n
    }

    fn write(&mut self, buf: &[u8]) -> usize {
        if buf.is_empty() {
            return 0;
        }
        match self.dev.send_bytes(buf) {
            Ok(()) => buf.len(),
            Err(_) => 0,
        }
    }
}

impl Wakeup for VirtioConsole {
    fn arm(&mut self) -> bool {
        // Receive interrupts stay enabled (console traffic is rare); only
        // the stale status needs clearing. `recv(false)` peeks.
        let _ = self.dev.ack_interrupt();
        matches!(self.dev.recv(false), Ok(Some(_)))
    }

    fn disarm(&mut self) {}
}
