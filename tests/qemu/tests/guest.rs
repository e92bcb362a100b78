//! The guest configured through a real store, as ClickOS guests are:
//! forwarding, filtering, NAT, reconfiguration with hot-swap, config
//! errors, handlers (also through Debian's `xenstore-read`), counters
//! under `data/mb/`, power-off, and idle cost.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mb_tests_qemu::frames::{checksums_ok, endpoints, ipv4, tagged, ICMP, TCP, UDP};
use mb_tests_qemu::{accels, Accel, StoreHost, Vm, VmConfig, WAIT};

const DOMID: u32 = 7;

/// Starts a guest of domain `DOMID` with `config` installed before boot,
/// and waits for its ready line.
fn boot(accel: Accel, store: &mut StoreHost, config: &str) -> Vm {
    let sock = store.guest(DOMID);
    store.install(DOMID, "test", config);
    let mut cfg = VmConfig::new(accel);
    cfg.store = Some(sock);
    let mut vm = Vm::start(&cfg);
    vm.wait_ready();
    vm
}

fn path(rel: &str) -> String {
    StoreHost::router_node(DOMID, rel)
}

const WIRE: &str = "FromDevice(0) -> c0 :: Counter -> ToDevice(1);\n\
                    FromDevice(eth1, BURST 16) -> Queue(64) -> c1 :: Counter -> ToDevice(1 - 1);\n";

#[test]
fn wire_config_from_the_store_forwards_both_ways() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let vm = boot(accel, &mut store, &WIRE.replace("1 - 1", "0"));
        for (n, len) in [60usize, 64, 590, 1514].into_iter().enumerate() {
            for (from, to) in [(0, 1), (1, 0)] {
                let f = tagged((n * 2 + from) as u8, len);
                vm.inject(from, &f);
                let got = vm.capture(to);
                assert_eq!(got, f, "{}: {len} bytes from NIC {from}", accel.name());
            }
        }
        // More than one batch, in order, none lost.
        let burst: Vec<Vec<u8>> = (0..100).map(|i| tagged(i as u8, 60 + i)).collect();
        for f in &burst {
            vm.inject(0, f);
        }
        for f in &burst {
            assert_eq!(&vm.capture(1), f, "{}: burst frame", accel.name());
        }
        assert_eq!(store.read_handler(DOMID, "c0", "count"), "104");
        assert_eq!(store.read_handler(DOMID, "c1", "count"), "4");
        // The guest announced itself as ClickOS guests do.
        assert_eq!(
            store.read("/local/domain/7/data/clickos").as_deref(),
            Some("")
        );
        assert_eq!(vm.log.iter().filter(|l| l.contains("mb: ready")).count(), 1);
    }
}

const FIREWALL: &str = "\
// DNS and ping pass; everything else IPv4 is denied and counted.
FromDevice(0) -> eth :: Classifier(12/0800, -);
out :: Queue(256) -> ToDevice(1);
eth[0] -> Strip(14) -> CheckIPHeader
       -> fw :: IPFilter(allow udp dst port 53, allow icmp type echo, 1 all);
fw[0] -> Unstrip(14) -> allowed :: Counter -> out;
fw[1] -> denied :: Counter -> Discard;
eth[1] -> other :: Counter -> out;
";

#[test]
fn firewall_drops_what_its_rules_deny_and_forwards_the_rest() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let vm = boot(accel, &mut store, FIREWALL);
        let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let dns = ipv4(UDP, a, 4000, b, 53, b"query");
        let ping = ipv4(ICMP, a, 0, b, 0, b"ping");
        let web = ipv4(TCP, a, 4001, b, 80, b"GET /");
        let ntp = ipv4(UDP, a, 4002, b, 123, b"time");
        let arp = tagged(9, 60);
        // Each denied frame is followed by an allowed one: frames stay in
        // order, so receiving the allowed one next proves the denied one
        // was dropped.
        for (sent, expect) in [(&dns, &dns), (&web, &ping), (&ntp, &dns), (&arp, &arp)] {
            if sent != expect {
                vm.inject(0, sent);
            }
            vm.inject(0, expect);
            assert_eq!(&vm.capture(1), expect, "{}", accel.name());
        }
        assert_eq!(store.read_handler(DOMID, "denied", "count"), "2");
        assert_eq!(store.read_handler(DOMID, "allowed", "count"), "3");
        assert_eq!(store.read_handler(DOMID, "other", "count"), "1");
    }
}

const NAT: &str = "\
rw :: IPRewriter(pattern 192.168.1.1 1024-65535# - - 0 1, drop);
FromDevice(0) -> Strip(14) -> CheckIPHeader -> [0]rw;
FromDevice(1) -> Strip(14) -> CheckIPHeader -> [1]rw;
rw[0] -> Unstrip(14) -> ToDevice(1);
rw[1] -> Unstrip(14) -> ToDevice(0);
";

#[test]
fn nat_rewrites_outgoing_flows_and_their_replies() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let vm = boot(accel, &mut store, NAT);
        let (inside, server, public) = ([10, 0, 0, 5], [8, 8, 8, 8], [192, 168, 1, 1]);
        let out = ipv4(UDP, inside, 5555, server, 53, b"query");
        vm.inject(0, &out);
        let got = vm.capture(1);
        let ((src, sport), dst) = endpoints(&got);
        assert_eq!(src, public, "{}: source address rewritten", accel.name());
        assert!(sport >= 1024, "{}: source port {sport}", accel.name());
        assert_eq!(dst, (server, 53), "{}", accel.name());
        assert!(checksums_ok(&got), "{}: checksums after NAT", accel.name());
        // The reply comes back to the inside host.
        vm.inject(1, &ipv4(UDP, server, 53, public, sport, b"answer"));
        let back = vm.capture(0);
        assert_eq!(endpoints(&back), ((server, 53), (inside, 5555)));
        assert!(
            checksums_ok(&back),
            "{}: checksums of the reply",
            accel.name()
        );
        // An unsolicited packet from outside is dropped (spec `drop`): the
        // next reply of the mapped flow is what arrives.
        vm.inject(1, &ipv4(UDP, server, 53, public, 9, b"stray"));
        vm.inject(1, &ipv4(UDP, server, 53, public, sport, b"again"));
        assert_eq!(endpoints(&vm.capture(0)).1, (inside, 5555));
        assert_eq!(store.read_handler(DOMID, "rw", "table_size"), "1");
    }
}

#[test]
fn reconfiguration_while_traffic_flows_keeps_state_and_loses_nothing() {
    const A: &str = "FromDevice(0) -> c :: Counter -> q :: Queue(512) -> ToDevice(1);\n";
    const B: &str = "FromDevice(0) -> c :: Counter -> c2 :: Counter \
                     -> q :: Queue(512) -> ToDevice(1);\n";
    for accel in accels() {
        let mut store = StoreHost::start();
        let vm = boot(accel, &mut store, A);
        let (tx, to) = vm.sender(0);
        let rx = vm.receiver(1);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        // Sends numbered frames until told to stop, then 100 more.
        let sender = std::thread::spawn(move || {
            let mut i = 0usize;
            let mut tail = 100;
            while tail > 0 {
                let mut f = tagged(0, 64);
                f[14..18].copy_from_slice(&(i as u32).to_be_bytes());
                tx.send_to(&f, &to).expect("sending");
                i += 1;
                if stop2.load(Ordering::Relaxed) {
                    tail -= 1;
                }
                if i.is_multiple_of(16) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            i
        });
        let got = Arc::new(Mutex::new(Vec::new()));
        let got2 = got.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while rx.recv(&mut buf).is_ok() {
                let n = u32::from_be_bytes([buf[14], buf[15], buf[16], buf[17]]);
                got2.lock().unwrap().push(n as usize);
            }
        });
        store.wait_for_handler(DOMID, "c", "count", |v| {
            v.parse::<usize>().is_ok_and(|n| n >= 100)
        });
        store.install(DOMID, "b", B);
        store.wait_for("/local/domain/7/data/mb/loads", |v| v == "2");
        stop.store(true, Ordering::Relaxed);
        let n = sender.join().expect("sender");
        let deadline = Instant::now() + WAIT;
        while got.lock().unwrap().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let seq = got.lock().unwrap().clone();
        assert!(
            seq == (0..n).collect::<Vec<_>>(),
            "{}: {} of {n} frames, in order: {}",
            accel.name(),
            seq.len(),
            seq.windows(2).all(|w| w[0] < w[1])
        );
        // `c` kept its count across the swap; `c2` only saw the frames
        // after it.
        assert_eq!(store.read_handler(DOMID, "c", "count"), n.to_string());
        let c2: usize = store.read_handler(DOMID, "c2", "count").parse().unwrap();
        assert!(
            c2 >= 100 && c2 < n,
            "{}: c2 counted {c2} of {n}",
            accel.name()
        );
        assert_eq!(store.read(&path("status")).as_deref(), Some("Running"));
        assert!(vm.log.len() >= 4);
    }
}

#[test]
fn a_bad_config_sets_error_and_the_old_router_keeps_forwarding() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let mut vm = boot(accel, &mut store, "FromDevice(0) -> ToDevice(1);\n");
        for (bad, needle) in [
            ("FromDevice(0)\n  -> Nope -> ToDevice(1);\n", "config:2:6"),
            ("FromDevice(0) -> ToDevice(5);\n", "no NIC 5"),
            (
                "FromDevice(0) -> Counter(bogus) -> ToDevice(1);\n",
                "config:1:",
            ),
        ] {
            store.install(DOMID, "bad", bad);
            store.wait_for(&path("status"), |v| v == "Error");
            let err = store.read(&path("error")).unwrap_or_default();
            assert!(
                err.contains(needle),
                "{}: error {err:?} lacks {needle:?}",
                accel.name()
            );
            let f = tagged(1, 80);
            vm.inject(0, &f);
            assert_eq!(
                vm.capture(1),
                f,
                "{}: old router after {bad:?}",
                accel.name()
            );
        }
        // A good config clears the error.
        store.install(
            DOMID,
            "good",
            "FromDevice(0) -> c :: Counter -> ToDevice(1);\n",
        );
        store.wait_for("/local/domain/7/data/mb/loads", |v| v == "2");
        assert_eq!(store.read(&path("error")), None);
        assert_eq!(store.read_handler(DOMID, "c", "count"), "0");
        vm.wait_for("config:2:6");
    }
}

#[test]
fn handlers_through_the_store_and_debians_xenstore_tools() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let vm = boot(
            accel,
            &mut store,
            "FromDevice(0) -> c :: Counter -> q :: Queue(100) -> ToDevice(1);\n",
        );
        for i in 0..3 {
            let f = tagged(i, 100);
            vm.inject(0, &f);
            assert_eq!(vm.capture(1), f);
        }
        assert_eq!(store.read_handler(DOMID, "c", "count"), "3");
        assert_eq!(store.read_handler(DOMID, "c", "byte_count"), "300");
        assert_eq!(store.read_handler(DOMID, "q", "capacity"), "100");
        // The read results' own watch events did not call write handlers:
        // `c.count` is read-only, so that would have left an error (the
        // guest handles events in order, so the answer above came after).
        assert_eq!(store.read(&path("elements/c/count/error")), None);
        // Write handlers. The guest handles store events in order, so the
        // answer to the read after them shows they were applied.
        store.write_handler(DOMID, "q", "capacity", "7");
        store.write_handler(DOMID, "c", "reset", "1");
        assert_eq!(store.read_handler(DOMID, "c", "count"), "0");
        assert_eq!(store.read_handler(DOMID, "q", "capacity"), "7");
        // Bad requests are reported next to the handler.
        store.write_handler(DOMID, "c", "count", "5");
        let e = store.wait_for(&path("elements/c/count/error"), |v| !v.is_empty());
        assert!(e.contains("read-only"), "{e}");
        store.write(&path("control/read/nosuch/count"), " ");
        let e = store.wait_for(&path("elements/nosuch/count/error"), |v| !v.is_empty());
        assert!(e.contains("nosuch"), "{e}");
        // Debian's tools as the host's client.
        let xs = store.socket().to_path_buf();
        let tool = |name: &str, args: &[&str]| {
            let o = Command::new(name)
                .args(args)
                .env("XENSTORED_PATH", &xs)
                .output()
                .unwrap_or_else(|e| panic!("running {name}: {e}"));
            assert!(
                o.status.success(),
                "{name} {args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            String::from_utf8_lossy(&o.stdout).into_owned()
        };
        vm.inject(0, &tagged(5, 64));
        vm.capture(1);
        // The answer node still holds the rejected write request above;
        // clear it as cosmos does before asking.
        tool("xenstore-write", &[&path("elements/c/count"), ""]);
        tool("xenstore-write", &[&path("control/read/c/count"), " "]);
        let v = store.wait_for(&path("elements/c/count"), |v| !v.is_empty());
        assert_eq!(
            tool("xenstore-read", &[&path("elements/c/count")]),
            format!("{v}\n")
        );
        assert_eq!(v, "1");
        assert_eq!(tool("xenstore-read", &[&path("status")]), "Running\n");
    }
}

#[test]
fn data_mb_counters_match_the_frames_sent() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let vm = boot(accel, &mut store, "FromDevice(0) -> ToDevice(1);\n");
        let sizes = [60usize, 100, 1000, 1514, 64];
        for (i, &len) in sizes.iter().enumerate() {
            let f = tagged(i as u8, len);
            vm.inject(0, &f);
            assert_eq!(vm.capture(1), f);
        }
        // NIC 1 has no FromDevice: what arrives there is dropped.
        vm.inject(1, &tagged(0, 70));
        vm.inject(1, &tagged(0, 70));
        let total: usize = sizes.iter().sum();
        let mb = |rel: &str| format!("/local/domain/{DOMID}/data/mb/{rel}");
        let n = sizes.len().to_string();
        store.wait_for(&mb("nic/0/rx_packets"), |v| v == n);
        store.wait_for(&mb("nic/1/drops"), |v| v == "2");
        assert_eq!(store.read(&mb("nic/0/rx_bytes")), Some(total.to_string()));
        store.wait_for(&mb("nic/1/tx_packets"), |v| v == n);
        assert_eq!(store.read(&mb("nic/1/tx_bytes")), Some(total.to_string()));
        assert_eq!(store.read(&mb("nic/1/rx_packets")).as_deref(), Some("2"));
        assert_eq!(store.read(&mb("nic/1/rx_bytes")).as_deref(), Some("140"));
        assert_eq!(store.read(&mb("nic/0/drops")).as_deref(), Some("0"));
        assert_eq!(store.read(&mb("nic/0/tx_packets")).as_deref(), Some("0"));
        assert_eq!(store.read(&mb("nics")).as_deref(), Some("2"));
        let busy: u32 = store
            .wait_for(&mb("busy"), |_| true)
            .parse()
            .expect("busy is a number");
        assert!(busy <= 1000, "busy {busy}");
    }
}

#[test]
fn idle_guest_costs_almost_nothing_and_wakes_for_traffic() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let vm = boot(
            accel,
            &mut store,
            "FromDevice(0) -> Queue -> ToDevice(1);\n",
        );
        let used = vm.idle_cpu_time();
        assert!(
            used < Duration::from_millis(400),
            "{}: idle guest used {used:?} of 2 s",
            accel.name()
        );
        let f = tagged(7, 100);
        vm.inject(0, &f);
        assert_eq!(vm.capture(1), f);
    }
}

#[test]
fn halted_status_powers_the_guest_off() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let mut vm = boot(accel, &mut store, "FromDevice(0) -> ToDevice(1);\n");
        store.write(&path("status"), "Halted");
        // isa-debug-exit reports (0 << 1) | 1.
        assert_eq!(vm.wait_exit(), Some(1), "{}", accel.name());
        assert!(
            vm.log.iter().any(|l| l.contains("status Halted")),
            "{:#?}",
            vm.log
        );
    }
}

#[test]
fn timers_wake_the_guest_and_print_reaches_the_console() {
    for accel in accels() {
        let mut store = StoreHost::start();
        let data = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";
        let config = format!(
            "TimedSource(INTERVAL 0.05, DATA \"{data}\", LIMIT 3) -> Print(tick) -> ToDevice(1);\n"
        );
        let mut vm = boot(accel, &mut store, &config);
        // Between ticks the guest halts; only its timer wakes it.
        for _ in 0..3 {
            assert_eq!(vm.capture(1), data.as_bytes(), "{}", accel.name());
        }
        vm.wait_for("tick:");
        assert_eq!(store.read_handler(DOMID, "TimedSource@1", "count"), "3");
    }
}

#[test]
fn malformed_frames_never_stop_the_guest() {
    for accel in accels() {
        for config in [FIREWALL, NAT] {
            let mut store = StoreHost::start();
            let vm = boot(accel, &mut store, config);
            let good = ipv4(UDP, [10, 0, 0, 1], 4000, [8, 8, 8, 8], 53, b"query");
            // (No empty frame: QEMU's datagram backend takes a 0-byte
            // datagram for the end of the connection and stops reading.)
            let mut junk: Vec<Vec<u8>> = vec![vec![0x45], vec![0xff; 13], good[..14].to_vec()];
            for cut in [15, 20, 33, 34, 41] {
                junk.push(good[..cut].to_vec());
            }
            let mut bad_ihl = good.clone();
            bad_ihl[14] = 0x4f; // header longer than the packet
            let mut bad_len = good.clone();
            bad_len[16] = 0xff; // total length past the end
            let mut ipv6 = good.clone();
            ipv6[14] = 0x60;
            let mut frag = good.clone();
            frag[20] = 0x20; // more fragments, offset 0
            junk.extend([bad_ihl, bad_len, ipv6, frag]);
            // Pseudo-random bytes behind an IPv4 ethertype.
            let mut x = 0x1234_5678u32;
            for len in [14usize, 40, 60, 200] {
                let mut f = good[..14].to_vec();
                f.extend((0..len).map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                }));
                junk.push(f);
            }
            for f in &junk {
                vm.inject(0, f);
                vm.inject(1, f);
            }
            // Still alive and forwarding: the good frame comes out (after
            // whatever junk the firewall's non-IPv4 branch lets through).
            vm.inject(0, &good);
            let is_good = |f: &[u8]| f.len() == good.len() && endpoints(f).1 == ([8, 8, 8, 8], 53);
            let arrived = (0..=junk.len()).any(|_| is_good(&vm.capture(1)));
            assert!(arrived, "{}: the good frame never came out", accel.name());
        }
    }
}
