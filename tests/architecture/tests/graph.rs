//! The architecture as ARCHITECTURE.md states it, checked against the code:
//! the crate graph from `cargo metadata` (the workspace and the guest
//! kernel), the forbidden edges, and no library running `mbctl` itself.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

type Edge = (String, String);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project's crates of one cargo project (name → manifest directory),
/// the normal and build dependencies between them, and the dev ones.
fn metadata(manifest: &Path) -> (BTreeMap<String, PathBuf>, BTreeSet<Edge>, BTreeSet<Edge>) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(manifest)
        .output()
        .expect("running cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON");
    let packages = m["packages"].as_array().expect("packages");
    let mut crates = BTreeMap::new();
    for p in packages {
        let dir = Path::new(p["manifest_path"].as_str().expect("manifest_path"))
            .parent()
            .expect("a manifest's directory")
            .to_path_buf();
        crates.insert(p["name"].as_str().expect("name").to_string(), dir);
    }
    let (mut edges, mut dev) = (BTreeSet::new(), BTreeSet::new());
    for p in packages {
        let from = p["name"].as_str().expect("name");
        for d in p["dependencies"].as_array().expect("dependencies") {
            let to = d["name"].as_str().expect("name");
            // Path dependencies are the project's own crates (the guest's
            // `click` is one, though not a member of the guest's project).
            if crates.contains_key(to) || d["path"].is_string() {
                let e = (from.to_string(), to.to_string());
                if d["kind"].as_str() == Some("dev") {
                    dev.insert(e);
                } else {
                    edges.insert(e);
                }
            }
        }
    }
    (crates, edges, dev)
}

/// The edges ARCHITECTURE.md lists, in its `from -> to` block.
fn documented() -> BTreeSet<Edge> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let start = text
        .find("<!-- crate graph")
        .expect("ARCHITECTURE.md has a `<!-- crate graph` block");
    let block = text[start..]
        .split("```")
        .nth(1)
        .expect("the crate graph's fenced block");
    block
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (a, b) = l
                .split_once("->")
                .unwrap_or_else(|| panic!("ARCHITECTURE.md: `{l}` is not `from -> to`"));
            (a.trim().to_string(), b.trim().to_string())
        })
        .collect()
}

/// Every crate of the project and every edge between them, tests' crates
/// left out (they may use anything).
fn graph() -> (BTreeMap<String, PathBuf>, BTreeSet<Edge>) {
    let (mut crates, mut edges, _) = metadata(&root().join("Cargo.toml"));
    let (k, ke, _) = metadata(&root().join("unikernel/kernel/Cargo.toml"));
    crates.extend(k);
    edges.extend(ke);
    let tests = root().join("tests").canonicalize().expect("tests/");
    let is_test = |c: &str| crates.get(c).is_some_and(|d| d.starts_with(&tests));
    let edges = edges
        .into_iter()
        .filter(|(a, b)| !is_test(a) && !is_test(b))
        .collect();
    (crates, edges)
}

fn under(crates: &BTreeMap<String, PathBuf>, name: &str, dir: &str) -> bool {
    let dir = root().join(dir).canonicalize().expect("a project folder");
    crates.get(name).is_some_and(|d| d.starts_with(&dir))
}

#[test]
fn architecture_md_lists_the_crate_graph() {
    let (_, edges) = graph();
    let doc = documented();
    let missing: Vec<_> = edges.difference(&doc).collect();
    let stale: Vec<_> = doc.difference(&edges).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "ARCHITECTURE.md's crate graph differs from cargo metadata:\n  \
         in the code, not listed: {missing:?}\n  listed, not in the code: {stale:?}"
    );
}

#[test]
fn no_forbidden_dependencies() {
    let (crates, edges) = graph();
    assert!(crates.contains_key("mb-kernel") && crates.contains_key("mbctl"));
    let mut bad = Vec::new();
    for (a, b) in &edges {
        let guest_side = under(&crates, a, "unikernel");
        if guest_side && under(&crates, b, "toolstack") {
            bad.push(format!(
                "{a} -> {b}: the engine, xenstore and the guest use no toolstack crate"
            ));
        }
        if [a.as_str(), b.as_str()] == ["click", "xenstore"]
            || [a.as_str(), b.as_str()] == ["xenstore", "click"]
        {
            bad.push(format!(
                "{a} -> {b}: the engine and the store protocol are independent"
            ));
        }
    }
    // Not even a test crate may depend on the CLI crate: tests run its
    // binary. (Cargo only warns about a dependency on a crate with no
    // library, so it would go unnoticed otherwise.)
    let (_, normal, dev) = metadata(&root().join("Cargo.toml"));
    for (a, b) in normal.iter().chain(&dev) {
        if b == "mbctl" {
            bad.push(format!("{a} -> mbctl: only its binary is for use"));
        }
    }
    assert!(
        bad.is_empty(),
        "forbidden dependencies:\n{}",
        bad.join("\n")
    );
}

#[test]
fn documented_graph_has_the_layers() {
    // The checks above would pass on an empty graph; the documented one
    // must hold the CLI on top of the libraries.
    let doc = documented();
    for e in [
        ("mbctl", "mb-agent"),
        ("mb-agent", "mb-vm"),
        ("mb-kernel", "click"),
    ] {
        assert!(
            doc.contains(&(e.0.to_string(), e.1.to_string())),
            "{e:?} missing"
        );
    }
}

/// Source files of the project's crates (not tests, not `tests/`).
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("a source folder").flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !["target", "tests", "benches", "fuzz"].contains(&name.as_str()) {
                sources(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_library_runs_mbctl_itself() {
    let mut files = Vec::new();
    for d in ["toolstack", "unikernel"] {
        sources(&root().join(d), &mut files);
    }
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut bad = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("a source file");
        // Unit tests may run anything.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let runs = code.contains("Command::new") || code.contains("process::Command");
        let own_exe = code.contains("current_exe") || code.contains("/proc/self/exe");
        let named =
            code.contains("Command::new(\"mbctl\")") || code.contains("CARGO_BIN_EXE_mbctl");
        if (runs && own_exe) || named {
            bad.push(f.display().to_string());
        }
    }
    assert!(
        bad.is_empty(),
        "these run mbctl's own binary (call the library instead):\n{}",
        bad.join("\n")
    );
}
