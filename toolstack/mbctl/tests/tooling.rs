//! `mbctl completions` and `mbctl man`, run as `make install` and `make
//! man` run them: every subcommand is in every script and has its page,
//! and the documented environment is every variable the code reads.

use std::path::{Path, PathBuf};
use std::process::Command;

const MBCTL: &str = env!("CARGO_BIN_EXE_mbctl");

fn run(args: &[&str]) -> String {
    let o = Command::new(MBCTL)
        .args(args)
        .output()
        .expect("running mbctl");
    assert!(
        o.status.success(),
        "mbctl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8")
}

/// Visible subcommands, as paths (`chain up` is `["chain", "up"]`), read
/// from `--help` as a user sees them (mbctl is a binary only).
fn subcommands() -> Vec<Vec<String>> {
    fn walk(path: &[String], out: &mut Vec<Vec<String>>) {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = run(&args);
        let names: Vec<String> = help
            .lines()
            .skip_while(|l| !l.starts_with("Commands:"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| *n != "help")
            .map(str::to_string)
            .collect();
        for n in names {
            let mut p = path.to_vec();
            p.push(n);
            out.push(p.clone());
            walk(&p, out);
        }
    }
    let mut out = Vec::new();
    walk(&[], &mut out);
    out
}

#[test]
fn completions_name_every_subcommand() {
    let subs = subcommands();
    assert!(subs.len() > 20, "{subs:?}");
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&["completions", shell]);
        assert!(script.lines().count() > 100, "{shell}: a short script");
        for s in &subs {
            let name = s.last().unwrap();
            assert!(script.contains(name.as_str()), "{shell}: no {s:?}");
        }
        // Options too, not only command names.
        assert!(script.contains("filter"), "{shell}: no capture --filter");
    }
    let o = Command::new(MBCTL)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn man_pages_for_every_subcommand_with_environment_and_exit_status() {
    let dir = std::env::temp_dir().join(format!("mbctl-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    run(&["man", dir.to_str().unwrap()]);
    let page =
        |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let top = page(&dir.join("mbctl.1"));
    assert!(
        top.starts_with(".ie"),
        "roff: {}",
        &top[..40.min(top.len())]
    );
    for s in subcommands() {
        let file = dir.join(format!("mbctl-{}.1", s.join("-")));
        let text = page(&file);
        assert!(text.contains(".SH SYNOPSIS"), "{}", file.display());
        if s.len() == 1 {
            assert!(
                top.contains(&format!("mbctl\\-{}(1)", s[0])),
                "mbctl.1 lacks {s:?}"
            );
        }
    }
    assert!(
        !dir.join("mbctl-man.1").exists(),
        "the hidden `man` has no page"
    );
    for v in documented_env() {
        assert!(top.contains(&v), "mbctl.1 lacks {v}");
    }
    assert!(top.contains("Exit status"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The variables `--help` documents (its "Environment:" section).
fn documented_env() -> Vec<String> {
    run(&["--help"])
        .lines()
        .skip_while(|l| *l != "Environment:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir()
            && p.file_name()
                .is_some_and(|n| n != "tests" && n != "benches")
        {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn help_documents_every_environment_variable_the_toolstack_reads() {
    let help = run(&["--help"]);
    let documented = documented_env();
    assert!(documented.len() >= 7, "{documented:?}");
    for v in &documented {
        assert!(help.contains(v.as_str()), "--help lacks {v}");
    }
    assert!(help.contains("Exit status"), "{help}");
    // Every variable read by the toolstack's code (PATH aside).
    let toolstack = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    rust_files(toolstack, &mut files);
    let mut read = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for pat in ["env::var(\"", "env::var_os(\""] {
            for (i, _) in text.match_indices(pat) {
                let rest = &text[i + pat.len()..];
                let name = &rest[..rest.find('"').unwrap()];
                if !name.starts_with("BENCH") && name != "PATH" {
                    read.push((name.to_string(), f.clone()));
                }
            }
        }
    }
    read.push((
        mb_agent::metrics::ENV.into(),
        PathBuf::from("agent/src/metrics.rs"),
    ));
    for (v, f) in &read {
        assert!(
            documented.contains(v),
            "{v} (read in {}) is not documented",
            f.display()
        );
    }
    assert!(read.iter().any(|(v, _)| v == "MB_QEMU"), "{read:?}");
}
