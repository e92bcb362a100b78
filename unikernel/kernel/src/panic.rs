//! The panic handler: print the message and leave the VM with status 3
//! (`isa-debug-exit` value 1).

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    crate::arch::x86_64::cpu::cli();
    crate::kprintln!("mb: panic: {}", info);
    crate::power::exit(1)
}
