//! Boots the real guest image under QEMU without a store and checks what
//! the kernel promises: the ready line, halting when idle, the APIC timer,
//! and the panic exit path. (Forwarding, configured through the store, is
//! in `guest.rs`.)

use std::time::Duration;

use mb_tests_qemu::{accels, image, Vm, VmConfig};

/// Where the image's loaded segments end (highest PT_LOAD `vaddr +
/// memsz`, ELF64 little-endian), in KiB rounded up to a page.
fn image_end_kib(elf: &[u8]) -> Option<u64> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(elf.get(o..o + 2)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(elf.get(o..o + 8)?.try_into().ok()?));
    let phoff = usize::try_from(u64_at(0x20)?).ok()?;
    let (size, count) = (usize::from(u16_at(0x36)?), usize::from(u16_at(0x38)?));
    let mut end = 0;
    for i in 0..count {
        let ph = phoff + i * size;
        if elf.get(ph..ph + 4)? == 1u32.to_le_bytes() {
            end = end.max(u64_at(ph + 0x10)? + u64_at(ph + 0x28)?);
        }
    }
    Some(end.div_ceil(4096) * 4)
}

#[test]
fn boots_and_prints_ready_line() {
    for accel in accels() {
        let mut vm = Vm::start(&VmConfig::new(accel));
        let (boot_us, nics) = vm.wait_ready();
        eprintln!(
            "{}: boot_us={boot_us} wall_to_ready={:?}",
            accel.name(),
            vm.started.elapsed()
        );
        assert_eq!(nics, 2);
        assert!(boot_us > 0, "boot_us must count from the PVH entry");
        assert_eq!(vm.log.iter().filter(|l| l.contains("mb: ready")).count(), 1);
    }
}

#[test]
fn idle_guest_halts() {
    for accel in accels() {
        let mut vm = Vm::start(&VmConfig::new(accel));
        vm.wait_ready();
        let used = vm.idle_cpu_time();
        assert!(
            used < Duration::from_millis(1000),
            "{}: idle guest used {used:?} of 2 s",
            accel.name()
        );
    }
}

#[test]
fn panic_prints_message_and_exits_with_status_3() {
    for accel in accels() {
        // Too little RAM to run: just the image (a fixed `-m 2M` cut the
        // boot stack off once the image grew past 2 MiB, and the guest
        // died silently). The kernel must report the failure and leave
        // through isa-debug-exit (value 1).
        let elf = std::fs::read(image()).expect("reading the image");
        let kib = image_end_kib(&elf).expect("image has no PT_LOAD segments");
        let mut cfg = VmConfig::new(accel);
        cfg.memory = format!("{kib}K");
        let mut vm = Vm::start(&cfg);
        let code = vm.wait_exit();
        assert!(
            vm.log.iter().any(|l| l.contains("mb: panic:")),
            "{}: log {:#?}",
            accel.name(),
            vm.log
        );
        assert_eq!(code, Some(3), "{}", accel.name());
    }
}

#[test]
fn apic_timer_wakes_a_halted_guest() {
    for accel in accels() {
        let mut cfg = VmConfig::new(accel);
        cfg.nics = 0;
        cfg.cmdline = Some("mb.selftest=timer".into());
        let mut vm = Vm::start(&cfg);
        let line = vm.wait_for("mb: selftest timer");
        vm.wait_ready();
        let field = |name: &str| -> u64 {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(name))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {line:?}"))
        };
        // The guest halted until its 10 ms timer fired: not before.
        assert!(field("waited_us=") >= 9_000, "{}: {line}", accel.name());
        assert!(field("wakeups=") >= 1, "{}: {line}", accel.name());
    }
}

/// The `tsc_khz=` field of the guest's first line and its clock source.
fn clock_of(vm: &mut Vm) -> (String, u64) {
    let line = vm.wait_for("tsc_khz=");
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {line:?}"))
            .to_string()
    };
    (field("clock="), field("tsc_khz=").parse().expect("tsc_khz"))
}

#[test]
fn tcg_guest_takes_the_hosts_tsc_rate_or_calibrates_against_the_pit() {
    let Some(host) = mb_vm::backend::tsc::host_khz() else {
        eprintln!("host TSC is not invariant: guests calibrate themselves");
        return;
    };
    let mut cfg = VmConfig::new(mb_tests_qemu::Accel::Tcg);
    cfg.nics = 0;
    let mut told = Vm::start(&cfg);
    assert_eq!(clock_of(&mut told), ("Cmdline".to_string(), host));
    told.wait_ready();
    cfg.tsc_khz = false;
    let mut pit = Vm::start(&cfg);
    let (source, khz) = clock_of(&mut pit);
    assert_eq!(source, "Pit");
    // The PIT window is 2 ms of an emulator whose thread the host may
    // preempt mid-window; typically within 0.3 %, but only gross errors
    // (units, a dead PIT) are this test's business.
    assert!(
        khz.abs_diff(host) * 4 < host,
        "PIT {khz} kHz, host {host} kHz"
    );
    pit.wait_ready();
    // Under -icount shift=0 the TSC is the instruction clock, at 1 GHz.
    cfg.tsc_khz = true;
    cfg.icount = true;
    let mut icount = Vm::start(&cfg);
    assert_eq!(clock_of(&mut icount), ("Cmdline".to_string(), 1_000_000));
    icount.wait_ready();
}
