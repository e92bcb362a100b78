//! `FromDump` on traces other tools wrote: pcapng and nanosecond pcap from
//! Wireshark's `editcap`, gzip'd by `gzip`, each giving the packets the
//! original pcap gives; and `mbctl run` on an IPv6 trace.

use std::path::Path;
use std::process::Command;

use mb_tests_host::{repo, run_in, stderr, Scratch};

/// Runs `cmd`, which must exist (the message says which package has it).
fn tool(cmd: &mut Command, package: &str) {
    let name = cmd.get_program().to_string_lossy().into_owned();
    let o = cmd.output().unwrap_or_else(|e| {
        panic!("running {name}: {e} (apt-get install {package}, or `make deps`)")
    });
    assert!(
        o.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// What `mbctl run --simtime` writes when FromDump reads `input`.
fn copy(d: &Scratch, input: &Path, tag: &str) -> Vec<u8> {
    let out = d.join(&format!("{tag}.out.pcap"));
    let cfg = format!(
        "FromDump({}, STOP true) -> ToDump({});",
        input.display(),
        out.display()
    );
    let o = run_in(&d.0, &["run", "--simtime", "-e", &cfg]);
    assert_eq!(o.status.code(), Some(0), "{tag}: {}", stderr(&o));
    std::fs::read(out).unwrap()
}

#[test]
fn editcap_and_gzip_output_reads_as_the_original_pcap() {
    let d = Scratch::new("traces");
    let demo = repo().join("click-configs/demo.pcap");
    let want = copy(&d, &demo, "pcap");
    // 36 frames: more than the file header.
    assert!(want.len() > 24 + 36 * 16, "{} bytes", want.len());
    for (format, file) in [("pcapng", "demo.pcapng"), ("nsecpcap", "demo-ns.pcap")] {
        let f = d.join(file);
        tool(
            Command::new("editcap")
                .args(["-F", format])
                .arg(&demo)
                .arg(&f),
            "wireshark-common",
        );
        assert!(copy(&d, &f, format) == want, "{format}: output differs");
        tool(Command::new("gzip").arg("-k").arg(&f), "gzip");
        let gz = d.join(&format!("{file}.gz"));
        assert!(
            copy(&d, &gz, &format!("{format}.gz")) == want,
            "{format}.gz: output differs"
        );
    }
}

#[test]
fn an_unknown_format_is_named_in_the_error() {
    let d = Scratch::new("traces-bad");
    let f = d.join("trace.pcap");
    std::fs::write(&f, b"BZh91AY&SY not really").unwrap();
    let cfg = format!("FromDump({}) -> Discard;", f.display());
    let o = run_in(&d.0, &["run", "--simtime", "-e", &cfg]);
    assert_ne!(o.status.code(), Some(0));
    let e = stderr(&o);
    assert!(e.contains("trace.pcap: bzip2-compressed"), "{e}");
    assert!(e.contains("pcap, pcapng and gzip"), "{e}");
}

/// Address space `mbctl run` gets in the test below: well under the trace.
const AS_LIMIT: u64 = 48 << 20;

#[test]
fn a_trace_larger_than_the_address_space_limit_streams_through() {
    // 80,000 frames of 1,500 bytes: a 121 MB trace in, the same out through
    // ToDump, in a process that may map 48 MiB in all (code, heap and
    // stacks included), so neither side can hold the trace.
    const FRAMES: u32 = 80_000;
    let d = Scratch::new("traces-big");
    let input = d.join("big.pcap");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        w.write_all(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]).unwrap();
        w.write_all(&[0; 8]).unwrap();
        w.write_all(&65535u32.to_le_bytes()).unwrap();
        w.write_all(&1u32.to_le_bytes()).unwrap();
        let mut frame = vec![0u8; 1500];
        for i in 0..FRAMES {
            for v in [i, 0, 1500, 1500] {
                w.write_all(&v.to_le_bytes()).unwrap();
            }
            frame[..4].copy_from_slice(&i.to_be_bytes());
            w.write_all(&frame).unwrap();
        }
        w.flush().unwrap();
    }
    let size = std::fs::metadata(&input).unwrap().len();
    assert!(size > 2 * AS_LIMIT, "trace of {size} bytes");
    let output = d.join("out.pcap");
    let cfg = format!(
        "FromDump({}, STOP true) -> c :: Counter -> ToDump({});",
        input.display(),
        output.display()
    );
    let mut cmd = Command::new(mb_tests_host::mbctl());
    cmd.args(["run", "-e", &cfg, "-h", "c.count"])
        .current_dir(&d.0);
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: AS_LIMIT,
                rlim_max: AS_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let o = cmd.output().expect("running mbctl");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(mb_tests_host::stdout(&o).trim(), FRAMES.to_string());
    // Same records, nanosecond timestamps: same size, and the last frame
    // is the last one written.
    let out = std::fs::read(&output).unwrap();
    assert_eq!(out.len() as u64, size);
    assert_eq!(&out[out.len() - 1500..][..4], &(FRAMES - 1).to_be_bytes());
}

/// An Ethernet frame with IPv6 packet `nxt` from fd00::1 to `dst`,
/// `payload` after the fixed header (hop limit 64).
fn ipv6_frame(nxt: u8, dst: [u8; 16], payload: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd];
    f.extend([0x60, 0, 0, 0]);
    f.extend((payload.len() as u16).to_be_bytes());
    f.extend([nxt, 64]);
    f.extend([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    f.extend(dst);
    f.extend(payload);
    f
}

/// A TCP SYN from port 40000 to `port` (checksum not filled in).
fn syn(port: u16) -> Vec<u8> {
    let mut t = vec![0x9c, 0x40];
    t.extend(port.to_be_bytes());
    t.extend([0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    t
}

/// A microsecond pcap of Ethernet `frames`.
fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    b.extend(65535u32.to_le_bytes());
    b.extend(1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        for v in [i as u32 + 1, 0, f.len() as u32, f.len() as u32] {
            b.extend(v.to_le_bytes());
        }
        b.extend(f);
    }
    b
}

/// The frames of a pcap file (either timestamp resolution).
fn frames_of(b: &[u8]) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let caplen = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        v.push(b[at + 16..at + 16 + caplen].to_vec());
        at += 16 + caplen;
    }
    v
}

#[test]
fn an_ipv6_trace_runs_through_ipfilter_and_nat64() {
    let d = Scratch::new("traces-ipv6");
    let server: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    // 64:ff9b::10.0.0.2, RFC 6052's synthesis of an IPv4 server.
    let synth: [u8; 16] = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2];
    let echo = ipv6_frame(58, server, &[128, 0, 0, 0, 0, 1, 0, 1]);
    let web = ipv6_frame(6, synth, &syn(80));
    let other = ipv6_frame(6, server, &syn(8080));
    let dns = ipv6_frame(17, server, &[0x9c, 0x40, 0, 53, 0, 8, 0, 0]);
    // A hop-by-hop options header before TCP to port 80: the filter's
    // transport tests see no TCP header right after the fixed header.
    let mut hbh = vec![6, 0, 1, 4, 0, 0, 0, 0];
    hbh.extend(syn(80));
    let ext = ipv6_frame(0, server, &hbh);
    // Payload length 100 in a frame that carries 8 bytes.
    let mut short = ipv6_frame(17, server, &[0; 8]);
    short[18..20].copy_from_slice(&100u16.to_be_bytes());
    let mut v4 = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45];
    v4.extend([0; 19]);
    let input = d.join("in6.pcap");
    let trace = [&echo, &web, &other, &dns, &ext, &short, &v4].map(|f| f.clone());
    std::fs::write(&input, pcap(&trace)).unwrap();

    // A firewall's IPv6 rules: ping and web pass, the rest is denied;
    // the malformed packet is counted by CheckIP6Header.
    let out = d.join("out6.pcap");
    let cfg = format!(
        "FromDump({}, STOP true) -> eth :: Classifier(12/86dd, -);
         eth[0] -> Strip(14) -> chk :: CheckIP6Header
           -> IPFilter(allow icmp6 type echo, allow tcp dst port www, deny all)
           -> Unstrip(14) -> ok :: Counter -> ToDump({});
         eth[1] -> v4 :: Counter -> Discard;",
        input.display(),
        out.display()
    );
    let o = run_in(
        &d.0,
        &[
            "run",
            "--simtime",
            "-e",
            &cfg,
            "-h",
            "ok.count",
            "-h",
            "chk.drops",
            "-h",
            "v4.count",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let got: Vec<String> = mb_tests_host::stdout(&o)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(got, ["ok.count:", "2", "chk.drops:", "1", "v4.count:", "1"]);
    assert_eq!(
        frames_of(&std::fs::read(&out).unwrap()),
        [echo.clone(), web.clone()]
    );

    // NAT64: the SYN to 64:ff9b::10.0.0.2 leaves as IPv4 from the pool
    // address to 10.0.0.2; the one to fd00::2 (outside the prefix) does not.
    let out4 = d.join("out4.pcap");
    let cfg = format!(
        "FromDump({}, STOP true) -> Classifier(12/86dd) -> Strip(14)
           -> CheckIP6Header -> IPFilter(allow ip6 tcp, deny all) -> [0]nat :: NAT64(192.0.2.1);
         Idle -> [1]nat;
         nat[0] -> EtherEncap(0x0800, 2:0:0:0:0:1, 2:0:0:0:0:2) -> ToDump({});
         nat[1] -> Discard;",
        input.display(),
        out4.display()
    );
    let o = run_in(&d.0, &["run", "--simtime", "-e", &cfg, "-h", "nat.table"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        mb_tests_host::stdout(&o).contains("fd00::1"),
        "nat.table: {} {}",
        mb_tests_host::stdout(&o),
        stderr(&o)
    );
    let got = frames_of(&std::fs::read(&out4).unwrap());
    assert_eq!(got.len(), 1, "{got:?}");
    let ip = &got[0][14..];
    assert_eq!(ip[0], 0x45);
    assert_eq!(ip[9], 6, "TCP");
    assert_eq!(ip[12..16], [192, 0, 2, 1]);
    assert_eq!(ip[16..20], [10, 0, 0, 2]);
    assert_eq!(ip[22..24], 80u16.to_be_bytes(), "destination port");
}
