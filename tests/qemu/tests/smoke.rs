//! Boots the real guest image under QEMU and checks what the kernel
//! promises: the ready line, frames forwarded unchanged by the wire
//! fixture, the virtio-console byte stream, halting when idle, and the
//! panic exit path.

use std::io::{Read, Write};
use std::time::Duration;

use mb_tests_qemu::{accels, Vm, VmConfig};

/// An Ethernet frame of `len` bytes (no FCS) with a recognisable payload.
fn frame(dst: u8, src: u8, tag: u8, len: usize) -> Vec<u8> {
    let mut f = vec![
        0x52, 0x54, 0x00, 0x12, 0x34, dst, 0x52, 0x54, 0x00, 0x12, 0x34, src, 0x88, 0xb5,
    ];
    f.extend((0..len - 14).map(|i| tag.wrapping_add(i as u8)));
    f
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
fn wire_forwards_frames_unchanged_both_ways() {
    for accel in accels() {
        let mut vm = Vm::start(&VmConfig::new(accel));
        vm.wait_ready();
        for (n, len) in [60usize, 64, 590, 1514].into_iter().enumerate() {
            for (from, to) in [(0, 1), (1, 0)] {
                let f = frame(to as u8 + 1, from as u8 + 1, (n * 2 + from) as u8, len);
                vm.inject(from, &f);
                let got = vm.capture(to);
                assert_eq!(
                    got,
                    f,
                    "{}: frame of {len} bytes from NIC {from}",
                    accel.name()
                );
            }
        }
        // A burst larger than one poll batch arrives complete and in order.
        let burst: Vec<Vec<u8>> = (0..100).map(|i| frame(2, 1, i as u8, 60 + i)).collect();
        for f in &burst {
            vm.inject(0, f);
        }
        for f in &burst {
            assert_eq!(&vm.capture(1), f, "{}: burst frame", accel.name());
        }
    }
}

#[test]
fn virtio_console_carries_a_byte_stream() {
    for accel in accels() {
        let mut cfg = VmConfig::new(accel);
        cfg.console = true;
        let mut vm = Vm::start(&cfg);
        let mut con = vm.console();
        vm.wait_ready();
        for msg in [
            &b"read /local/domain/1/data\n"[..],
            &[0u8, 1, 2, 255, 10][..],
            &[b'x'; 3000][..],
        ] {
            con.write_all(msg).expect("writing to the console");
            let mut back = vec![0u8; msg.len()];
            con.read_exact(&mut back).expect("echo from the guest");
            assert_eq!(back, msg, "{}", accel.name());
        }
    }
}

#[test]
fn idle_guest_halts() {
    for accel in accels() {
        let mut vm = Vm::start(&VmConfig::new(accel));
        vm.wait_ready();
        // Let the loop pass its spin window and halt, then watch.
        std::thread::sleep(Duration::from_millis(500));
        let before = vm.cpu_time();
        std::thread::sleep(Duration::from_secs(2));
        let used = vm.cpu_time() - before;
        eprintln!("{}: QEMU used {used:?} CPU in 2 s idle", accel.name());
        // A guest that polls instead of halting burns the whole 2 s.
        assert!(
            used < Duration::from_millis(1000),
            "{}: idle guest used {used:?} of 2 s",
            accel.name()
        );
        // And it still wakes up for traffic.
        let f = frame(2, 1, 7, 100);
        vm.inject(0, &f);
        assert_eq!(vm.capture(1), f);
    }
}

#[test]
fn panic_prints_message_and_exits_with_status_3() {
    for accel in accels() {
        // Too little RAM for the NIC rings: the kernel must report the
        // allocation failure and leave through isa-debug-exit (value 1).
        let mut cfg = VmConfig::new(accel);
        cfg.memory = "2M".into();
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
