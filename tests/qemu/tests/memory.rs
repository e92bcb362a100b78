//! Out of memory in a real guest: a configuration too big for the VM's RAM
//! is rejected like any config error (`status` Error, `error` says out of
//! memory) and the running router keeps forwarding; the memory the failed
//! build took comes back for the next config. A table that traffic grows
//! until the heap is exhausted drops and counts, and the guest keeps
//! answering through the store.

use mb_tests_qemu::frames::{ipv4, tagged, UDP};
use mb_tests_qemu::{accels, StoreHost, Vm, VmConfig};

const DOMID: u32 = 9;

fn path(rel: &str) -> String {
    StoreHost::router_node(DOMID, rel)
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
            let f = tagged(round as u8, 100);
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
        let f = tagged(7, 200);
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

#[test]
fn a_flow_table_that_fills_the_heap_drops_and_counts_and_the_guest_carries_on() {
    // Every distinct flow is kept (no MAPPING_CAPACITY): only memory stops
    // the table.
    const NAT: &str = "FromDevice(0) -> Strip(14) -> CheckIPHeader\n\
                       -> rw :: IPRewriter(keep 0 1) -> c :: Counter -> Discard;\n\
                       rw[1] -> Discard;\n";
    for accel in accels() {
        let mut store = StoreHost::start();
        let sock = store.guest(DOMID);
        store.install(DOMID, "nat", NAT);
        let mut cfg = VmConfig::new(accel);
        cfg.store = Some(sock);
        cfg.memory = "6M".into();
        let mut vm = Vm::start(&cfg);
        vm.wait_ready();
        let (tx, to) = vm.sender(0);
        let mut sent = 0u32;
        let mut failures = 0u64;
        while failures == 0 {
            assert!(sent < 400_000, "{}: the table never filled", accel.name());
            for _ in 0..4096 {
                let src = [10, (sent >> 16) as u8, (sent >> 8) as u8, sent as u8];
                tx.send_to(&ipv4(UDP, src, 4000, [8, 8, 8, 8], 53, b"x"), &to)
                    .expect("sending a frame");
                sent += 1;
            }
            failures = store
                .read_handler(DOMID, "rw", "mapping_failures")
                .parse()
                .expect("a count");
        }
        // Every frame reached the rewriter; those it had no memory to map
        // were dropped, and counted.
        let deadline = std::time::Instant::now() + mb_tests_qemu::WAIT;
        let (mapped, failures) = loop {
            let read = |store: &mut StoreHost, e: &str, h: &str| -> u64 {
                store.read_handler(DOMID, e, h).parse().expect("a count")
            };
            let mapped = read(&mut store, "c", "count");
            let failures = read(&mut store, "rw", "mapping_failures");
            if mapped + failures == u64::from(sent) {
                break (mapped, failures);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{}: {mapped} mapped + {failures} failed of {sent}",
                accel.name()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert!(failures > 0 && mapped > 1000, "{}", accel.name());
        for h in ["size", "table_size"] {
            let n: u64 = store.read_handler(DOMID, "rw", h).parse().unwrap();
            assert_eq!(n, mapped, "{}: rw.{h}", accel.name());
        }
        // The monitoring record shows the flows filling the heap. "Full"
        // is the first allocation that failed, and a table's growth
        // asks for one large block, so how much is in use then varies
        // with the table's layout: at least half, and within the heap.
        let mb = |rel: &str| format!("/local/domain/{DOMID}/data/mb/{rel}");
        let size: u64 = store.wait_for(&mb("heap_size"), |_| true).parse().unwrap();
        store.wait_for(&mb("heap_used"), |v| {
            v.parse::<u64>()
                .is_ok_and(|used| used * 100 > size * 50 && used <= size)
        });
        // With the heap full of flows the guest still reconfigures: the
        // old table goes and the new router runs.
        store.install(DOMID, "wire", "FromDevice(0) -> w :: Counter -> Discard;\n");
        store.wait_for(&format!("/local/domain/{DOMID}/data/mb/loads"), |v| {
            v == "2"
        });
        tx.send_to(&ipv4(UDP, [10, 0, 0, 1], 1, [8, 8, 8, 8], 53, b"x"), &to)
            .expect("sending a frame");
        store.wait_for_handler(DOMID, "w", "count", |v| v == "1");
        assert!(
            !vm.log.iter().any(|l| l.contains("mb: panic")),
            "{}: {:#?}",
            accel.name(),
            vm.log
        );
    }
}
