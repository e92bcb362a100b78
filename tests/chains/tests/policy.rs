//! A hop's replica policy (`replicas`, `[hop.health]`, `[hop.scale]`,
//! `split`, list defines) as `mbctl chain check` and `mbctl chain up`
//! refuse it: every error at its `file:line:col`, nothing made. Needs
//! neither root nor Open vSwitch.

use mb_tests_chains::*;

fn id() -> u32 {
    std::process::id() % 100_000
}

/// A scaled firewall then a replicated NAT between bridges; `fw_scale`
/// and `nat_policy` are the hops' extra lines.
fn scaled(name: &str, fw_scale: &str, nat_policy: &str) -> String {
    format!(
        r#"name = "{name}"
[left]
bridge = "pl{name}"
gateway = "10.41.1.1/24"
[right]
bridge = "pr{name}"
gateway = "10.41.2.1/24"
[[hop]]
name = "fw"
config = "{fw}"
replicas = {{ min = 1, max = 3 }}
[hop.scale]
{fw_scale}
above = 5000
below = 100
[[hop]]
name = "nat"
config = "{nat}"
{nat_policy}
"#,
        fw = config("firewall.click"),
        nat = config("nat.click")
    )
}

const NAT_OK: &str = "replicas = { min = 1, max = 2 }\nsplit = \"src-ip\"\ndefines = { PUBLIC = [\"10.41.2.1\", \"10.41.2.1\"] }\n[hop.health]\ninterval = \"100ms\"\nmisses = 3";

#[test]
fn chain_check_accepts_a_good_policy() {
    let c = Chain::new(&format!("pg{}", id()));
    let f = c.run.join("good.toml");
    std::fs::write(&f, scaled("pgood", "handler = \"to_out.length\"", NAT_OK)).unwrap();
    let o = c.mbctl(&["chain", "check", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("chain pgood, 2 vm hop(s), 0 errors"),
        "{}",
        text(&o)
    );
}

#[test]
fn chain_check_and_up_refuse_a_bad_policy_at_its_position() {
    let c = Chain::new(&format!("pb{}", id()));
    let f = c.run.join("bad.toml");
    // The firewall scales on a handler its Queue lacks; the NAT's list
    // define is one short of its replicas, its split and metric unknown.
    let nat = "replicas = { min = 2, max = 3 }\nsplit = \"round-robin\"\ndefines = { PUBLIC = [\"10.41.2.1\", \"10.41.2.1\"] }\n[hop.scale]\nmetric = \"mem\"\nabove = 1\nbelow = 0";
    let t = scaled("pbad", "handler = \"to_out.lenght\"", nat);
    std::fs::write(&f, &t).unwrap();
    let b = f.to_str().unwrap();
    let o = c.mbctl(&["chain", "check", b]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let lines: Vec<&str> = err.lines().collect();
    let want = [
        format!("{b}:20:9: split 'round-robin': expected one of"),
        format!("{b}:21:22: PUBLIC lists 2 value(s) but the hop can have 3 replica(s) up at once"),
        format!("{b}:23:10: unknown metric 'mem'"),
        format!("{b}:13:11: handler 'to_out.lenght' is not a handler of 'to_out :: Queue'"),
    ];
    assert_eq!(lines.len(), want.len() + 1, "{err}");
    for (l, w) in lines.iter().zip(&want) {
        assert!(
            l.starts_with(w.as_str()),
            "{l:?} should start {w:?} in:\n{err}"
        );
    }
    assert_eq!(lines[4], format!("{b}: 4 errors"));

    let o = c.mbctl(&["chain", "check", "--json", b]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("chain check --json");
    let errs = v.as_array().unwrap();
    assert_eq!(errs.len(), 4, "{v}");
    assert_eq!(
        (
            errs[3]["file"].as_str(),
            errs[3]["line"].as_u64(),
            errs[3]["col"].as_u64()
        ),
        (Some(b), Some(13), Some(11))
    );

    // `chain up` refuses the first error before making anything (and
    // before asking for root); with the NAT mended, the handler's.
    let o = c.mbctl(&["chain", "up", b]);
    assert!(!o.status.success());
    assert!(text(&o).contains(&want[0]), "{}", text(&o));
    std::fs::write(&f, scaled("pbad", "handler = \"to_out.lenght\"", NAT_OK)).unwrap();
    let o = c.mbctl(&["chain", "up", b]);
    assert!(!o.status.success());
    assert!(text(&o).contains(&want[3]), "{}", text(&o));
    assert!(
        !c.run.join("chains").exists(),
        "a refused file left a record"
    );
}

#[test]
fn each_replicas_own_defines_are_checked_in_its_config() {
    let c = Chain::new(&format!("pr{}", id()));
    let f = c.run.join("list.toml");
    let nat = "replicas = { max = 2 }\ndefines = { PUBLIC = [\"10.41.2.1\", \"10.41.2.300\"] }";
    std::fs::write(&f, scaled("plist", "metric = \"pps\"", nat)).unwrap();
    let b = f.to_str().unwrap();
    let o = c.mbctl(&["chain", "check", b]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("{}:", config("nat.click")))
            && first.contains(": replica 1 (PUBLIC = 10.41.2.300): ")
            && err.contains(": replica 1 (PUBLIC = 10.41.2.300): 'rw :: IPRewriter'"),
        "{err}"
    );
    // `chain up` refuses it too, before making anything.
    let o = c.mbctl(&["chain", "up", b]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("hop nat, replica 1 (PUBLIC = 10.41.2.300): "),
        "{}",
        text(&o)
    );
    assert!(
        !c.run.join("chains").exists(),
        "a refused file left a record"
    );
}
