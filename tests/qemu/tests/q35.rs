//! The same image on `-M q35` with virtio-pci devices: SeaBIOS loads the
//! PVH kernel, the guest finds its NICs and store console on PCI, takes
//! their INTx interrupts when idle, and runs a config from the store.
//! (TCG here: SeaBIOS takes seconds under this host's nested KVM.)

use std::time::Duration;

use mb_tests_qemu::frames::{checksums_ok, endpoints, ipv4, UDP};
use mb_tests_qemu::{accels, Machine, StoreHost, Vm, VmConfig};

#[test]
fn q35_with_virtio_pci_runs_a_nat_from_the_store() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let sock = store.guest(3);
        store.install(
            3,
            "nat",
            "rw :: IPRewriter(pattern 192.168.1.1 1024-65535# - - 0 1, drop);\n\
             FromDevice(0) -> Strip(14) -> CheckIPHeader -> [0]rw;\n\
             FromDevice(1) -> Strip(14) -> CheckIPHeader -> [1]rw;\n\
             rw[0] -> Unstrip(14) -> ToDevice(1);\n\
             rw[1] -> Unstrip(14) -> ToDevice(0);\n",
        );
        let mut cfg = VmConfig::new(accel);
        cfg.machine = Machine::Q35;
        cfg.store = Some(sock);
        let mut vm = Vm::start(&cfg);
        let (boot_us, nics) = vm.wait_ready();
        eprintln!(
            "{}: q35 boot_us={boot_us} wall={:?}",
            accel.name(),
            vm.started.elapsed()
        );
        assert_eq!(nics, 2);
        assert!(
            !vm.log.iter().any(|l| l.contains("polled only")),
            "{}: every device has an interrupt: {:#?}",
            accel.name(),
            vm.log
        );
        let (inside, server) = ([10, 0, 0, 5], [8, 8, 8, 8]);
        vm.inject(0, &ipv4(UDP, inside, 5555, server, 53, b"query"));
        let out = vm.capture(1);
        let ((src, sport), _) = endpoints(&out);
        assert_eq!(src, [192, 168, 1, 1]);
        assert!(checksums_ok(&out));
        // Let the guest halt; the reply must wake it through its interrupt.
        std::thread::sleep(Duration::from_millis(300));
        vm.inject(
            1,
            &ipv4(UDP, server, 53, [192, 168, 1, 1], sport, b"answer"),
        );
        assert_eq!(endpoints(&vm.capture(0)).1, (inside, 5555));
        assert_eq!(store.read_handler(3, "rw", "table_size"), "1");
    }
}
