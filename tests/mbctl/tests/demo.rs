//! The README's first command, `make demo`, as a fresh Debian 12 machine
//! runs it: every program the demo scripts (and `mbctl` under them) run
//! comes from a package `make demo` installs itself, before anything
//! uses it, and the demo passes ping and web traffic through the firewall
//! VM, blocks a port and counts both.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mb_tests_host::{image, mbctl, repo};
use mb_tests_mbctl::can_run;

/// The demo scripts `make demo` runs.
const SCRIPTS: [&str; 2] = ["tests/mbctl/demo.sh", "click-configs/chains/demo.sh"];

/// Where `mbctl` finds the programs it runs for `boot --nic netns:` and
/// `chain up` (their names are string literals there): mbctl only parses,
/// the VM, agent and chain libraries run them.
const MBCTL_SOURCES: [&str; 5] = [
    "toolstack/mbctl/src",
    "toolstack/ovs/src",
    "toolstack/vm/src",
    "toolstack/agent/src",
    "toolstack/chain/src",
];

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// Runs `prog args`, which must exist on any Debian machine.
fn run(prog: &str, args: &[&str]) -> Output {
    Command::new(prog)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {prog}: {e} (this test needs Debian's dpkg and apt)"))
}

/// What `make -n TARGET` would run, with a PATH that holds nothing but
/// `make`, `sh` and `id`: as on a machine that has none of the tools yet.
fn plan(target: &str) -> Vec<String> {
    let bin = std::env::temp_dir().join(format!("mb-demo-path-{}-{target}", std::process::id()));
    let _ = std::fs::remove_dir_all(&bin);
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["make", "sh", "id"] {
        let o = run("sh", &["-c", &format!("command -v {tool}")]);
        let path = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert!(!path.is_empty(), "{tool} not found");
        std::os::unix::fs::symlink(path, bin.join(tool)).unwrap();
    }
    let o = Command::new(bin.join("make"))
        .args(["-n", target])
        .current_dir(repo())
        .env("PATH", &bin)
        // Not the flags of a `make test` this test may run under.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .output()
        .expect("running make -n");
    std::fs::remove_dir_all(&bin).unwrap();
    assert!(o.status.success(), "make -n {target}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// The Debian packages the apt step of a `make -n` plan installs.
fn installed_by(plan: &[String]) -> BTreeSet<String> {
    let mut pkgs = BTreeSet::new();
    for line in plan {
        if let Some(list) = line
            .split_once("for p in ")
            .and_then(|(_, rest)| rest.split_once(';'))
            .map(|(list, _)| list)
        {
            pkgs.extend(list.split_whitespace().map(String::from));
        }
    }
    pkgs
}

/// The index of the first line of `plan` containing `what`.
fn first(plan: &[String], what: &str) -> usize {
    plan.iter()
        .position(|l| l.contains(what))
        .unwrap_or_else(|| panic!("`{what}` is not in the plan:\n{}", plan.join("\n")))
}

/// Words of a shell script that may be commands: comments and quoted
/// text dropped (a word in an `echo` is not run), the rest split at
/// blanks and shell operators. Over-approximates: the caller keeps the
/// words that are programs on this machine.
fn script_words(script: &str) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    for line in script.lines() {
        let mut plain = String::new();
        let mut quote = None;
        for c in line.chars() {
            match (quote, c) {
                (None, '#') if plain.is_empty() || plain.ends_with(' ') => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => {
                    quote = None;
                    plain.push(' ');
                }
                (Some(_), _) => {}
                (None, c) => plain.push(c),
            }
        }
        words.extend(
            plain
                .split(|c: char| c.is_whitespace() || "|&;()<>{}!`".contains(c))
                .filter(|w| !w.is_empty() && !w.starts_with('-') && !w.contains(['$', '=', '/']))
                .map(String::from),
        );
    }
    words
}

/// String literals of Rust sources that name a program run with `Command`.
fn source_literals(dir: &Path) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            words.extend(source_literals(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            let src = std::fs::read_to_string(&p).unwrap();
            // Only the literals passed where a program goes: `run("tc", ..`,
            // `which("ip")`, `Command::new("ethtool")`, `"netns", "exec", ns, "x"`,
            // a default: `unwrap_or_else(|_| "qemu-system-x86_64".into())`.
            for (i, _) in src.match_indices('"') {
                let rest = &src[i + 1..];
                let Some(end) = rest.find('"') else { continue };
                let lit = &rest[..end];
                let before = src[..i].trim_end();
                let program_slot = ["run(", "which(", "new(", "require(", "ns,", "netns,", "|_|"]
                    .iter()
                    .any(|s| before.ends_with(s));
                if program_slot
                    && !lit.is_empty()
                    && lit
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                {
                    words.insert(lit.to_string());
                }
            }
        }
    }
    words
}

/// The programs among `words`, with their paths (bash's `type -P`; shell
/// builtins and keywords are not programs). Looked up where Debian's
/// packages put them, not in this machine's PATH (a pyenv shim, a
/// /usr/local build are no package's).
fn programs(words: &BTreeSet<String>) -> BTreeMap<String, PathBuf> {
    let mut args = vec![
        "-c",
        r#"for w; do [ "$(type -t "$w")" = file ] && echo "$w $(type -P "$w")"; done; true"#,
        "_",
    ];
    args.extend(words.iter().map(String::as_str));
    let o = Command::new("bash")
        .args(&args)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .expect("running bash");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(w, p)| (w.to_string(), PathBuf::from(p)))
        .collect()
}

/// The spellings of `path` dpkg may know it by: itself, its symlink's
/// target, and each with /usr added or taken away (merged /usr).
fn spellings(path: &Path) -> Vec<String> {
    let mut v = vec![path.to_path_buf()];
    if let Ok(real) = path.canonicalize() {
        v.push(real);
    }
    let mut all = Vec::new();
    for p in v {
        let s = p.to_string_lossy().into_owned();
        all.push(match s.strip_prefix("/usr") {
            Some(rest) => rest.to_string(),
            None => format!("/usr{s}"),
        });
        all.push(s);
    }
    all
}

/// The packages that ship these files, by file (one `dpkg -S`).
fn packages_of(files: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut args = vec!["-S"];
    args.extend(files.iter().map(String::as_str));
    // Fails when any file is unknown, but lists the known ones.
    let o = run("dpkg", &args);
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.starts_with("diversion by"))
        .filter_map(|l| l.split_once(": "))
        .map(|(pkgs, file)| {
            let pkg = pkgs.split(", ").next().unwrap_or(pkgs);
            (
                file.to_string(),
                pkg.split(':').next().unwrap_or(pkg).to_string(),
            )
        })
        .collect()
}

/// `pkgs` and every package they depend on, recursively.
fn with_dependencies(pkgs: &BTreeSet<String>) -> BTreeSet<String> {
    let mut args = vec![
        "depends",
        "--recurse",
        "--no-recommends",
        "--no-suggests",
        "--no-conflicts",
        "--no-breaks",
        "--no-replaces",
        "--no-enhances",
    ];
    args.extend(pkgs.iter().map(String::as_str));
    let o = run("apt-cache", &args);
    assert!(o.status.success(), "apt-cache depends: {}", text(&o));
    let mut all = pkgs.clone();
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        let name = l.trim().trim_start_matches('|');
        let name = name.split_once(": ").map_or(name, |(_, n)| n);
        let name = name.trim_matches(|c| c == '<' || c == '>');
        all.insert(name.split(':').next().unwrap_or(name).to_string());
    }
    all
}

fn essential(pkg: &str) -> bool {
    let o = run("dpkg-query", &["-W", "-f=${Essential}", pkg]);
    String::from_utf8_lossy(&o.stdout).trim() == "yes"
}

#[test]
fn make_demo_installs_every_program_the_demo_runs() {
    let root = repo();
    let mut words = BTreeSet::new();
    for s in SCRIPTS {
        words.extend(script_words(
            &std::fs::read_to_string(root.join(s)).unwrap(),
        ));
    }
    for d in MBCTL_SOURCES {
        words.extend(source_literals(&root.join(d)));
    }
    let progs = programs(&words);
    // The scripts' own (ip, ping, curl, python3 ...) and mbctl's (QEMU,
    // OVS, ethtool, tc ...): a regression in the scan shows here.
    for p in [
        "ip",
        "ping",
        "curl",
        "python3",
        "ss",
        "qemu-system-x86_64",
        "ovs-vsctl",
        "ethtool",
    ] {
        assert!(
            progs.contains_key(p),
            "{p} not found among {:?}",
            progs.keys()
        );
    }
    let plan = plan("demo");
    let installed = installed_by(&plan);
    assert!(installed.contains("qemu-system-x86"), "{installed:?}");
    let covered = with_dependencies(&installed);
    let files: BTreeSet<String> = progs.values().flat_map(|p| spellings(p)).collect();
    let owners = packages_of(&files);
    let mut missing = Vec::new();
    for (prog, path) in &progs {
        let pkg = spellings(path)
            .iter()
            .find_map(|f| owners.get(f))
            .unwrap_or_else(|| panic!("{prog} ({}) belongs to no package", path.display()));
        if !covered.contains(pkg) && !essential(pkg) {
            missing.push(format!("{prog} ({pkg})"));
        }
    }
    assert!(
        missing.is_empty(),
        "the demo runs programs `make demo` does not install: {}; installed: {installed:?}",
        missing.join(", ")
    );
}

#[test]
fn make_demo_and_make_test_install_before_anything_else() {
    let demo = plan("demo");
    let apt = first(&demo, "apt-get install");
    let target = first(&demo, "rustup target add x86_64-unknown-none");
    for later in [
        "cargo build",
        "tests/mbctl/demo.sh",
        "click-configs/chains/demo.sh",
    ] {
        let at = first(&demo, later);
        assert!(
            apt < at && target < at,
            "{later} before the install:\n{}",
            demo.join("\n")
        );
    }
    let test = plan("test");
    let apt = first(&test, "apt-get install");
    let target = first(&test, "rustup target add");
    for later in ["cargo build", "cargo test"] {
        let at = first(&test, later);
        assert!(
            apt < at && target < at,
            "{later} before the install:\n{}",
            test.join("\n")
        );
    }
    // `make test` installs what `make deps` does: the same apt step.
    assert_eq!(installed_by(&test), installed_by(&plan("deps")));
}

#[test]
fn demo_pings_through_the_firewall_and_blocks_a_port() {
    if !can_run("demo", true) {
        return;
    }
    let run_dir = std::env::temp_dir().join(format!("mbd-{}", std::process::id()));
    let o = Command::new(repo().join("tests/mbctl/demo.sh"))
        .current_dir(repo())
        .env("MBCTL", mbctl())
        .env("MB_IMAGE", image())
        .env("MBCTL_RUN_DIR", &run_dir)
        .output()
        .expect("running tests/mbctl/demo.sh");
    let _ = std::fs::remove_dir_all(&run_dir);
    let out = String::from_utf8_lossy(&o.stdout);
    let all = text(&o);
    assert!(o.status.success(), "demo.sh failed:\n{all}");
    assert!(out.contains("3 packets transmitted, 3 received"), "{all}");
    assert!(out.contains("port 80: HTTP 200"), "{all}");
    assert!(out.contains("port 8080: blocked"), "{all}");
    // `mbctl read` of allowed.count, then denied.count.
    let counts: Vec<u64> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
    let [allowed, denied] = counts[..] else {
        panic!("expected two counters:\n{all}");
    };
    // 3 echo requests and the TCP packets of one HTTP fetch.
    assert!(allowed >= 6, "allowed.count {allowed}:\n{all}");
    assert!(denied >= 1, "denied.count {denied}:\n{all}");
    assert!(out.contains("firewall-vm: halted and stopped"), "{all}");
}
