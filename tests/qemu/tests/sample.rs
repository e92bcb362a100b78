//! What a controller samples of a real guest (`mb_vm::sample`): its
//! heartbeat once asked for, its packet and bit rates under load, its
//! QEMU process's CPU, its heap in use and a handler, all through a real
//! store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mb_store_client::Store;
use mb_tests_qemu::frames::tagged;
use mb_tests_qemu::{accels, StoreHost, Vm, VmConfig};
use mb_vm::sample::{ask_beat, read_beat, Liveness, Metrics, Sampler, Target};

const DOMID: u32 = 9;

const COUNTING: &str = "FromDevice(0) -> c :: Counter -> Discard;\nFromDevice(1) -> Discard;\n";

#[test]
fn a_loaded_guest_samples_as_alive_busy_and_using_its_heap() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let sock = store.guest(DOMID);
        store.install(DOMID, "count", COUNTING);
        let mut cfg = VmConfig::new(accel);
        cfg.store = Some(sock);
        let mut vm = Vm::start(&cfg);
        vm.wait_ready();
        let mut st = Store::connect(store.socket()).expect("store");
        let t = Target {
            domid: DOMID,
            pid: Some(vm.pid() as i32),
            nics: 2,
        };

        // Without a heartbeat asked for, an idle guest publishes none.
        store.wait_for(&format!("/local/domain/{DOMID}/data/mb/loads"), |v| {
            v == "1"
        });
        assert_eq!(read_beat(&mut st, DOMID).unwrap(), None);
        // Asked for one every 50 ms, it beats while idle: every 100 ms
        // poll sees the beat move.
        ask_beat(&mut st, DOMID, Some(Duration::from_millis(50))).unwrap();
        let mut live = Liveness::new();
        let t0 = Instant::now();
        while read_beat(&mut st, DOMID).unwrap().is_none() {
            assert!(t0.elapsed() < Duration::from_secs(10), "no beat");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut worst = 0;
        for _ in 0..10 {
            live.observe(read_beat(&mut st, DOMID).unwrap());
            worst = worst.max(live.misses());
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            worst <= 1,
            "{}: an idle guest missed {worst} polls in a row",
            accel.name()
        );

        // Load: frames into NIC 0 as fast as the socket takes them.
        let (tx, to) = vm.sender(0);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let sender = std::thread::spawn(move || {
            let f = tagged(1, 500);
            let mut n = 0u64;
            while !stop2.load(Ordering::Relaxed) {
                if tx.send_to(&f, &to).is_ok() {
                    n += 1;
                }
                if n.is_multiple_of(64) {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            n
        });
        let sampler = Sampler::with_handler("c", "count");
        let mut prev = None;
        let mut seen: Vec<Metrics> = Vec::new();
        for _ in 0..30 {
            let (s, m) = sampler.sample(&mut st, &t, prev.as_ref()).unwrap();
            prev = Some(s);
            seen.push(m);
            std::thread::sleep(Duration::from_millis(100));
        }
        stop.store(true, Ordering::Relaxed);
        let sent = sender.join().unwrap();
        let name = accel.name();
        let pps: Vec<f64> = seen.iter().filter_map(|m| m.pps).collect();
        let max_pps = pps.iter().cloned().fold(0.0, f64::max);
        assert!(max_pps > 0.0, "{name}: pps {pps:?} ({sent} frames sent)");
        let max_bps = seen.iter().filter_map(|m| m.bps).fold(0.0, f64::max);
        assert!(
            max_bps >= max_pps * 500.0 * 8.0 * 0.99,
            "{name}: bps {max_bps} for pps {max_pps}"
        );
        let cpu: Vec<f64> = seen.iter().filter_map(|m| m.cpu).collect();
        assert!(cpu.len() >= 25, "{name}: cpu {cpu:?}");
        assert!(
            cpu.iter().sum::<f64>() / cpu.len() as f64 > 1.0,
            "{name}: cpu under load {cpu:?}"
        );
        for m in &seen {
            let ram = m.ram.expect("the guest reports its heap");
            assert!(ram > 0.0 && ram < 100.0, "{name}: ram {ram}");
        }
        let counted = seen.iter().filter_map(|m| m.handler).fold(0.0, f64::max);
        assert!(
            counted > 0.0 && counted <= sent as f64,
            "{name}: c.count {counted} of {sent}"
        );

        // Stopping the heartbeat stops `beat`: polls then miss.
        ask_beat(&mut st, DOMID, None).unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let mut live = Liveness::new();
        live.observe(read_beat(&mut st, DOMID).unwrap());
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            live.observe(read_beat(&mut st, DOMID).unwrap()),
            1,
            "{name}: beat moved"
        );
        drop(vm);
    }
}
