//! An image with a config baked in (`make image CONFIG=...`) runs it when
//! the VM has no store, and a store still takes precedence.

use mb_tests_qemu::frames::{ipv4, TCP, UDP};
use mb_tests_qemu::{accels, baked_image, StoreHost, Vm, VmConfig};

#[test]
fn baked_firewall_runs_without_a_store() {
    for accel in accels() {
        let mut cfg = VmConfig::new(accel);
        cfg.image = Some(baked_image());
        let mut vm = Vm::start(&cfg);
        vm.wait_for("built-in config 'guest-firewall.click'");
        vm.wait_ready();
        let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let dns = ipv4(UDP, a, 4000, b, 53, b"query");
        let ssh = ipv4(TCP, a, 4001, b, 22, b"ssh");
        let web = ipv4(TCP, a, 4002, b, 80, b"GET /");
        vm.inject(0, &dns);
        assert_eq!(vm.capture(1), dns, "{}", accel.name());
        // ssh is denied: the web frame after it is the next to leave.
        vm.inject(0, &ssh);
        vm.inject(0, &web);
        assert_eq!(vm.capture(1), web, "{}", accel.name());
        // Replies come back unfiltered.
        let reply = ipv4(TCP, b, 22, a, 4001, b"banner");
        vm.inject(1, &reply);
        assert_eq!(vm.capture(0), reply, "{}", accel.name());
    }
}

#[test]
fn a_store_overrides_the_baked_config() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let sock = store.guest(9);
        store.install(9, "wire", "FromDevice(0) -> c :: Counter -> ToDevice(1);\n");
        let mut cfg = VmConfig::new(accel);
        cfg.image = Some(baked_image());
        cfg.store = Some(sock);
        let mut vm = Vm::start(&cfg);
        vm.wait_ready();
        // The firewall would deny ssh; the store's wire forwards it.
        let ssh = ipv4(TCP, [10, 0, 0, 1], 4001, [10, 0, 0, 2], 22, b"ssh");
        vm.inject(0, &ssh);
        assert_eq!(vm.capture(1), ssh, "{}", accel.name());
        assert_eq!(store.read_handler(9, "c", "count"), "1");
    }
}
