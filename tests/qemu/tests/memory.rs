//! Out of memory in a real guest: a configuration too big for the VM's RAM
//! is rejected like any config error (`status` Error, `error` says out of
//! memory) and the running router keeps forwarding; the memory the failed
//! build took comes back for the next config.

use mb_tests_qemu::{accels, StoreHost, Vm, VmConfig};

const DOMID: u32 = 9;

fn path(rel: &str) -> String {
    format!("{}/{rel}", StoreHost::router_path(DOMID))
}

/// An Ethernet frame of `len` bytes with a recognisable payload.
fn frame(tag: u8, len: usize) -> Vec<u8> {
    let mut f = vec![
        0x52, 0x54, 0x00, 0x12, 0x34, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x01, 0x88, 0xb5,
    ];
    f.extend((0..len - 14).map(|i| tag.wrapping_add(i as u8)));
    f
}

#[test]
fn a_config_too_big_for_memory_is_an_error_and_the_old_router_keeps_forwarding() {
    // 400 rewriters with their mapping tables need ~45 MB; the VM has 16.
    let mut nat = String::from("FromDevice(0)");
    for i in 0..400 {
        nat.push_str(&format!("\n  -> r{i} :: IPRewriter(pass 0)"));
    }
    nat.push_str("\n  -> ToDevice(1);\n");
    let cases = [
        // One big table the engine reserves fallibly.
        (
            String::from("FromDevice(0) -> Queue(200000000) -> ToDevice(1);\n"),
            "out of memory for CAPACITY 200000000",
        ),
        // Memory running out across many elements: the guest's allocator
        // lends its reserve and the build stops early.
        (nat, "out of memory"),
    ];
    for accel in accels() {
        let mut store = StoreHost::start();
        let sock = store.guest(DOMID);
        store.install(DOMID, "wire", "FromDevice(0) -> ToDevice(1);\n");
        let mut cfg = VmConfig::new(accel);
        cfg.store = Some(sock);
        cfg.memory = "16M".into();
        let mut vm = Vm::start(&cfg);
        vm.wait_ready();
        for (round, (bad, needle)) in cases.iter().enumerate() {
            store.install(DOMID, "big", bad);
            store.wait_for(&path("status"), |v| v == "Error");
            let err = store.read(&path("error")).unwrap_or_default();
            assert!(
                err.contains(needle),
                "{}: error {err:?} lacks {needle:?}",
                accel.name()
            );
            let f = frame(round as u8, 100);
            vm.inject(0, &f);
            assert_eq!(
                vm.capture(1),
                f,
                "{}: the old router forwards after {needle:?}",
                accel.name()
            );
        }
        // The failed builds gave their memory back: a new config loads.
        store.install(
            DOMID,
            "good",
            "FromDevice(0) -> c :: Counter -> ToDevice(1);\n",
        );
        store.wait_for(&format!("/local/domain/{DOMID}/data/mb/loads"), |v| {
            v == "2"
        });
        assert_eq!(store.read(&path("error")), None);
        let f = frame(7, 200);
        vm.inject(0, &f);
        assert_eq!(vm.capture(1), f, "{}: new router", accel.name());
        assert_eq!(store.read_handler(DOMID, "c", "count"), "1");
        assert!(
            !vm.log.iter().any(|l| l.contains("mb: panic")),
            "{}: {:#?}",
            accel.name(),
            vm.log
        );
    }
}
