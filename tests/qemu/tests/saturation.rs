//! The packet path at saturation: both NICs fed flat out at once, in
//! both directions, with a hot swap half-way; every frame must come out,
//! in order, and the counters must match exactly, on microvm
//! (virtio-mmio) and q35 (virtio-pci). The guest's notification
//! suppression, batched kicks and send-ring back-pressure must not cost a
//! frame.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mb_tests_qemu::frames::tagged;
use mb_tests_qemu::{accels, Machine, StoreHost, Vm, VmConfig, WAIT};

const DOMID: u32 = 9;
/// Frames sent into each NIC.
const FRAMES: usize = 30_000;

const A: &str = "FromDevice(0) -> a :: Counter -> ToDevice(1);\n\
                 FromDevice(1) -> b :: Counter -> ToDevice(0);\n";
/// A with one more element on each path: `a` and `b` keep their counts.
const B: &str = "FromDevice(0) -> a :: Counter -> a2 :: Counter -> ToDevice(1);\n\
                 FromDevice(1) -> b :: Counter -> b2 :: Counter -> ToDevice(0);\n";

/// Sends `FRAMES` numbered frames (direction `dir` in the first payload
/// byte, the number after it) as fast as the socket takes them.
fn sender(sock: UnixDatagram, to: PathBuf, dir: u8, sent: Arc<AtomicUsize>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for i in 0..FRAMES {
            let mut f = tagged(0, 64);
            f[14] = dir;
            f[15..19].copy_from_slice(&(i as u32).to_be_bytes());
            sock.send_to(&f, &to).expect("sending into the guest");
            sent.fetch_add(1, Ordering::Relaxed);
        }
    })
}

/// Receives until `FRAMES` frames came out or nothing came for [`WAIT`];
/// returns (direction, number) of each, in arrival order.
fn receiver(sock: UnixDatagram) -> JoinHandle<Vec<(u8, u32)>> {
    std::thread::spawn(move || {
        let mut got = Vec::with_capacity(FRAMES);
        let mut buf = [0u8; 2048];
        while got.len() < FRAMES {
            let Ok(n) = sock.recv(&mut buf) else { break };
            assert!(n >= 19, "a {n}-byte frame");
            let num = u32::from_be_bytes([buf[15], buf[16], buf[17], buf[18]]);
            got.push((buf[14], num));
        }
        got
    })
}

fn check(what: &str, got: &[(u8, u32)], dir: u8) {
    let firsts: Vec<_> = got.iter().take(3).collect();
    assert_eq!(got.len(), FRAMES, "{what}: frames out; first {firsts:?}");
    for (i, &(d, n)) in got.iter().enumerate() {
        assert!(
            d == dir && n as usize == i,
            "{what}: frame {i} out was ({d}, {n}): lost, reordered or misdirected"
        );
    }
}

#[test]
fn both_nics_flat_out_and_a_hot_swap_lose_and_reorder_nothing() {
    for accel in accels() {
        for machine in [Machine::Microvm, Machine::Q35] {
            let what = format!("{} {machine:?}", accel.name());
            let mut store = StoreHost::start();
            let sock = store.guest(DOMID);
            store.install(DOMID, "a", A);
            let mut cfg = VmConfig::new(accel);
            cfg.machine = machine;
            cfg.store = Some(sock);
            let mut vm = Vm::start(&cfg);
            vm.wait_ready();
            let (s0, to0) = vm.sender(0);
            let (s1, to1) = vm.sender(1);
            let out1 = receiver(vm.receiver(1));
            let out0 = receiver(vm.receiver(0));
            let sent = Arc::new(AtomicUsize::new(0));
            let senders = [
                sender(s0, to0, 0, sent.clone()),
                sender(s1, to1, 1, sent.clone()),
            ];
            // Swap while both directions are in full flow.
            let deadline = Instant::now() + WAIT;
            while sent.load(Ordering::Relaxed) < FRAMES / 2 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            store.install(DOMID, "b", B);
            for s in senders {
                s.join().expect("sender");
            }
            check(&format!("{what}, NIC 0 -> 1"), &out1.join().unwrap(), 0);
            check(&format!("{what}, NIC 1 -> 0"), &out0.join().unwrap(), 1);
            store.wait_for(&format!("/local/domain/{DOMID}/data/mb/loads"), |v| {
                v == "2"
            });
            let n = FRAMES.to_string();
            assert_eq!(store.read_handler(DOMID, "a", "count"), n, "{what}");
            assert_eq!(store.read_handler(DOMID, "b", "count"), n, "{what}");
            let a2: usize = store.read_handler(DOMID, "a2", "count").parse().unwrap();
            assert!(a2 > 0 && a2 < FRAMES, "{what}: a2 counted {a2}");
            let mb = |rel: &str| format!("/local/domain/{DOMID}/data/mb/{rel}");
            for nic in 0..2 {
                for field in ["rx_packets", "tx_packets"] {
                    store.wait_for(&mb(&format!("nic/{nic}/{field}")), |v| v == n);
                }
                assert_eq!(
                    store.read(&mb(&format!("nic/{nic}/drops"))).as_deref(),
                    Some("0"),
                    "{what}: NIC {nic}"
                );
            }
        }
    }
}
