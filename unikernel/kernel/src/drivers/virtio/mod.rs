//! virtio over the MMIO transport (QEMU microvm): discovery, the DMA glue
//! for `virtio-drivers`, and the net and console devices.

pub mod console;
pub mod hal;
pub mod mmio;
pub mod net;
pub mod transport;
