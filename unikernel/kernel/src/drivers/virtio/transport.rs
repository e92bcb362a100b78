//! A transport wrapper that hides `VIRTIO_F_EVENT_IDX` from the drivers.
//!
//! With event indices, `virtio-drivers` re-arms the used-buffer interrupt
//! on every completion and cannot switch it off, so a busy device would
//! raise an interrupt per batch while we are polling anyway (each one
//! costs the host an IOAPIC emulation round trip). Without it, the
//! avail-ring `NO_INTERRUPT` flag works and the main loop turns device
//! interrupts on only when it is about to halt.

use virtio_drivers::transport::{DeviceStatus, DeviceType, InterruptStatus, Transport};
use virtio_drivers::{PhysAddr, Result};
use zerocopy::{FromBytes, Immutable, IntoBytes};

const VIRTIO_F_EVENT_IDX: u64 = 1 << 29;

/// `T` with the event-index feature masked out.
pub struct NoEventIdx<T>(pub T);

impl<T: Transport> Transport for NoEventIdx<T> {
    fn device_type(&self) -> DeviceType {
        self.0.device_type()
    }
    fn read_device_features(&mut self) -> u64 {
        self.0.read_device_features() & !VIRTIO_F_EVENT_IDX
    }
    fn write_driver_features(&mut self, driver_features: u64) {
        self.0
            .write_driver_features(driver_features & !VIRTIO_F_EVENT_IDX)
    }
    fn max_queue_size(&mut self, queue: u16) -> u32 {
        self.0.max_queue_size(queue)
    }
    fn notify(&mut self, queue: u16) {
        self.0.notify(queue)
    }
    fn get_status(&self) -> DeviceStatus {
        self.0.get_status()
    }
    fn set_status(&mut self, status: DeviceStatus) {
        self.0.set_status(status)
    }
    fn set_guest_page_size(&mut self, guest_page_size: u32) {
        self.0.set_guest_page_size(guest_page_size)
    }
    fn requires_legacy_layout(&self) -> bool {
        self.0.requires_legacy_layout()
    }
    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        self.0
            .queue_set(queue, size, descriptors, driver_area, device_area)
    }
    fn queue_unset(&mut self, queue: u16) {
        self.0.queue_unset(queue)
    }
    fn queue_used(&mut self, queue: u16) -> bool {
        self.0.queue_used(queue)
    }
    fn ack_interrupt(&mut self) -> InterruptStatus {
        self.0.ack_interrupt()
    }
    fn read_config_generation(&self) -> u32 {
        self.0.read_config_generation()
    }
    fn read_config_space<V: FromBytes + IntoBytes>(&self, offset: usize) -> Result<V> {
        self.0.read_config_space(offset)
    }
    fn write_config_space<V: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: V,
    ) -> Result<()> {
        self.0.write_config_space(offset, value)
    }
}
