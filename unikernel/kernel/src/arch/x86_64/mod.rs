//! x86_64 specifics: port I/O, MSRs, CPUID, the IDT and the interrupt
//! controllers (local APIC, IOAPICs).

pub mod apic;
pub mod cpu;
pub mod idt;
pub mod ioapic;
pub mod pic;
pub mod port;
