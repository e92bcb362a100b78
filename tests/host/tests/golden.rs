//! The golden cases of tests/golden (made with real Click 2.1): `mbctl
//! run` on each must write byte-for-byte what Click wrote.

use mb_tests_host::{mbctl, repo, Scratch};

/// (case, whether Click's standard error is part of the expected output).
const CASES: &[(&str, bool)] = &[
    ("vlan", false),
    ("print", true),
    ("routes", false),
    ("fragment", false),
    ("rewrite", false),
];

#[test]
fn golden_cases_match_click_byte_for_byte() {
    let golden = repo().join("tests/golden");
    let mut failed = Vec::new();
    for &(case, with_stderr) in CASES {
        let out = Scratch::new(&format!("golden-{case}"));
        let o = std::process::Command::new(mbctl())
            .current_dir(&golden)
            .args([
                "run".to_string(),
                format!("{case}/config.click"),
                format!("IN={case}/input.pcap"),
                format!("OUT={}", out.0.display()),
            ])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::write(out.join("stdout.txt"), &o.stdout).unwrap();
        if with_stderr {
            std::fs::write(out.join("stderr.txt"), &o.stderr).unwrap();
        }
        let mut n = 0;
        for e in std::fs::read_dir(golden.join(case).join("expected")).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            let want = std::fs::read(e.path()).unwrap();
            let got = std::fs::read(out.0.join(&name)).unwrap_or_default();
            n += 1;
            if want != got {
                failed.push(format!(
                    "{case}/{}: differs from Click's",
                    name.to_string_lossy()
                ));
            }
        }
        assert!(n >= 2, "{case}: no expected files");
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
