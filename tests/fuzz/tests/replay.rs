//! Every committed corpus and seed file, through every fuzz target's body:
//! what the fuzzers once found (and the seeds they start from) keeps
//! passing. Runs as an ordinary test: `make fuzz-replay`.

use std::path::{Path, PathBuf};

type Target = (&'static str, fn(&[u8]));

const TARGETS: &[Target] = &[
    ("frames", mb_fuzz::frames::run),
    ("frames6", mb_fuzz::frames6::run),
    ("ipfilter", mb_fuzz::ipfilter::run),
    ("parse_config", mb_fuzz::parse_config::run),
    ("xs_codec", mb_fuzz::xs_codec::run),
    ("xs_server", mb_fuzz::xs_server::run),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn every_target_is_replayed() {
    let mut names: Vec<String> = files(&root().join("fuzz_targets"))
        .iter()
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect();
    names.sort();
    let listed: Vec<&str> = TARGETS.iter().map(|t| t.0).collect();
    assert_eq!(names, listed, "add the new target to TARGETS");
}

#[test]
fn corpora_and_seeds_replay() {
    for &(name, run) in TARGETS {
        let inputs: Vec<PathBuf> = ["corpus", "seeds"]
            .iter()
            .flat_map(|d| files(&root().join(d).join(name)))
            .collect();
        assert!(!inputs.is_empty(), "{name}: no corpus or seed files");
        for f in &inputs {
            let data = std::fs::read(f).unwrap();
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                panic!("{name}: {} fails", f.display());
            }
        }
        println!("{name}: {} inputs replayed", inputs.len());
    }
}

#[test]
fn frames6_seeds_are_translated() {
    // The TCP seed's SYN, the ARP-resolved flush, the reply after neighbour
    // discovery, the ACK and the FIN each leave the NAT64: a seed that
    // stopped reaching the translation would fuzz nothing.
    let data = std::fs::read(root().join("seeds/frames6/seed-tcp")).unwrap();
    let sent = mb_fuzz::frames6::Nat64Box::new().feed(&data);
    assert!(sent >= 5, "only {sent} frames sent");
}
