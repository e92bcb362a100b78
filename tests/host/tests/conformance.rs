//! The Click conformance cases (../shared/conformance) run through the
//! built `mbctl`: every case listed in PASSING must pass.

use mb_tests_host::{conformance_dir, in_ci, mbctl};

/// Cases expected to pass: all 13 since the element branches landed.
const PASSING: &[&str] = &[
    "a_firewall",
    "b_nat",
    "c_split",
    "d_ratelimit",
    "e_counter",
    "f_responders",
    "g_compound",
    "h_tee_paint",
    "i_queue",
    "j_ipclassifier",
    "k_ether",
    "l_checkip",
    "m_decttl",
];

#[test]
fn conformance_cases_pass() {
    let Some(dir) = conformance_dir() else {
        assert!(!in_ci(), "CI must provide ../shared/conformance");
        println!("SKIP conformance: ../shared/conformance not found next to the repository");
        return;
    };
    let out = std::process::Command::new(dir.join("run.sh"))
        .arg(mbctl())
        .current_dir(&dir)
        .output()
        .expect("running run.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    let mut failed = Vec::new();
    for case in PASSING {
        let pass = format!("PASS {case}");
        if !text.lines().any(|l| l == pass) {
            let why = text
                .lines()
                .find(|l| l.starts_with(&format!("FAIL {case}:")))
                .unwrap_or("no result line");
            failed.push(why.to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "conformance failures:\n{}",
        failed.join("\n")
    );
    assert!(text.contains("conformance: "), "run.sh printed no summary");
}
