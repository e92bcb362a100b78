//! The golden cases kept in the repository (tests/golden: our configs
//! and traces, real Click's outputs) run through the built `mbctl`: every
//! case in tests/golden/cases.txt must pass byte for byte.

use mb_tests_host::{mbctl, repo};

#[test]
fn golden_cases_pass() {
    let dir = repo().join("tests/golden");
    let cases: Vec<String> = std::fs::read_to_string(dir.join("cases.txt"))
        .expect("tests/golden/cases.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    assert!(!cases.is_empty(), "no golden cases listed");
    let out = std::process::Command::new(dir.join("run.sh"))
        .arg(mbctl())
        .current_dir(&dir)
        .output()
        .expect("running tests/golden/run.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL ")).collect();
    assert!(failed.is_empty(), "golden failures:\n{}", failed.join("\n"));
    for case in &cases {
        assert!(
            text.lines().any(|l| l == format!("PASS {case}")),
            "no PASS line for {case}"
        );
    }
    assert!(out.status.success(), "run.sh failed: {text}");
}
