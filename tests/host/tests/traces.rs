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
