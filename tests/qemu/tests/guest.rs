//! The guest configured through a real store, as ClickOS guests are:
//! forwarding, filtering, NAT, reconfiguration with hot-swap, config
//! errors, handlers (also through Debian's `xenstore-read`), counters
//! under `data/mb/`, and idle cost.

use std::time::Duration;

use mb_tests_qemu::{accels, Accel, StoreHost, Vm, VmConfig};

const DOMID: u32 = 7;

/// A guest of domain `DOMID` on `store` with `config` installed before boot.
fn boot(accel: Accel, store: &mut StoreHost, config: &str) -> Vm {
    let sock = store.guest(DOMID);
    store.install(DOMID, "test", config);
    let mut cfg = VmConfig::new(accel);
    cfg.store = Some(sock);
    let mut vm = Vm::start(&cfg);
    vm.wait_ready();
    vm
}

/// An Ethernet frame of `len` bytes with a recognisable payload.
fn frame(tag: u8, len: usize) -> Vec<u8> {
    let mut f = vec![
        0x52, 0x54, 0x00, 0x12, 0x34, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x01, 0x88, 0xb5,
    ];
    f.extend((0..len - 14).map(|i| tag.wrapping_add(i as u8)));
    f
}

const WIRE: &str = "FromDevice(0) -> c0 :: Counter -> ToDevice(1);\n\
                    FromDevice(eth1, BURST 16) -> Queue(64) -> c1 :: Counter -> ToDevice(0);\n";

#[test]
fn wire_config_from_the_store_forwards_both_ways() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let mut vm = boot(accel, &mut store, WIRE);
        for (n, len) in [60usize, 64, 590, 1514].into_iter().enumerate() {
            for (from, to) in [(0, 1), (1, 0)] {
                let f = frame((n * 2 + from) as u8, len);
                vm.inject(from, &f);
                assert_eq!(vm.capture(to), f, "{}: {len} bytes from NIC {from}", accel.name());
            }
        }
        let burst: Vec<Vec<u8>> = (0..100).map(|i| frame(i as u8, 60 + i)).collect();
        for f in &burst {
            vm.inject(0, f);
        }
        for f in &burst {
            assert_eq!(&vm.capture(1), f, "{}: burst frame", accel.name());
        }
        assert_eq!(store.read_handler(DOMID, "c0", "count"), "104");
        assert_eq!(store.read_handler(DOMID, "c1", "count"), "4");
        let _ = vm.log.len();
    }
}

#[test]
fn halted_status_powers_the_guest_off() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let mut vm = boot(accel, &mut store, WIRE);
        store.write(&format!("{}/status", StoreHost::router_path(DOMID)), "Halted");
        // isa-debug-exit: (0 << 1) | 1.
        assert_eq!(vm.wait_exit(), Some(1), "{}", accel.name());
        assert!(vm.log.iter().any(|l| l.contains("Halted")), "{:#?}", vm.log);
        let _ = Duration::ZERO;
    }
}
