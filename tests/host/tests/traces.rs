//! `FromDump` on traces other tools wrote: pcapng and nanosecond pcap from
//! Wireshark's `editcap`, gzip'd by `gzip`, each giving the packets the
//! original pcap gives.

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
