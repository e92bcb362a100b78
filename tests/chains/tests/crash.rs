//! A `chain up` killed (the `MBCTL_FAULT` hook aborts it) right after each
//! thing it makes leaves a journal from which `chain down` removes
//! everything: namespaces, devices, bridges, rules, the hop's middlebox VM
//! and its taps. The agent killed at each step of the hop's boot (taps
//! and ports on Open vSwitch): the chain's rollback, through a restarted
//! agent, leaves nothing. And a rollback that itself fails keeps its journal, so a
//! later `chain down` removes what it left. Real QEMU guest, private Open
//! vSwitch. Needs root, Open vSwitch and QEMU (SKIP otherwise, never under
//! CI).

use mb_tests_chains::*;

/// A one-hop (firewall) chain between two namespaces the chain makes.
fn one_hop(name: &str, client: &str, server: &str) -> String {
    format!(
        r#"name = "{name}"
[left]
netns = "{client}"
address = "10.41.1.2/24"
gateway = "10.41.1.1"
[right]
netns = "{server}"
address = "10.41.2.2/24"
gateway = "10.41.2.1"
[[hop]]
name = "fw"
config = "{fw}"
"#,
        fw = config("firewall.click"),
    )
}

fn id() -> u32 {
    std::process::id() % 100_000
}

/// Most steps `chain up` may have before the test calls it a loop.
const STEPS_MAX: u32 = 60;

#[test]
fn chain_up_killed_at_each_step_then_down_leaks_nothing() {
    if skip("chain_up_killed_at_each_step_then_down_leaks_nothing") {
        return;
    }
    let (client, server) = (format!("mbkc{}", id()), format!("mbks{}", id()));
    let mut c = Chain::new(&format!("ck{}", id()));
    let toml = one_hop(&c.name, &client, &server);
    for step in 1..=STEPS_MAX {
        let o = c.up_with_fault(&toml, Some(&format!("chain-up:{step}")));
        let finished = o.status.success();
        if !finished {
            assert!(
                text(&o).contains(&format!("injected fault chain-up:{step}")),
                "step {step}: {}",
                text(&o)
            );
            let ls = c.mbctl(&["chain", "ls"]);
            assert!(text(&ls).contains(&c.name), "step {step}: {}", text(&ls));
        } else {
            assert!(step > 10, "chain up has only {} steps?", step - 1);
        }
        let d = c.down();
        assert!(d.status.success(), "step {step}: chain down: {}", text(&d));
        let left = leftovers(&c, &[&client, &server]);
        assert!(left.is_empty(), "after chain-up:{step}, left: {left:?}");
        let vms = c.mbctl(&["ls", "--json"]);
        assert_eq!(text(&vms).trim(), "[]", "step {step}");
        if finished {
            return;
        }
    }
    panic!("chain up did not finish within {STEPS_MAX} steps");
}

#[test]
fn agent_killed_at_each_step_of_a_hop_boot_leaks_nothing() {
    if skip("agent_killed_at_each_step_of_a_hop_boot_leaks_nothing") {
        return;
    }
    let (client, server) = (format!("mbac{}", id()), format!("mbas{}", id()));
    let mut c = Chain::new(&format!("ca{}", id()));
    let toml = one_hop(&c.name, &client, &server);
    for step in 1..=STEPS_MAX {
        // The agent `chain up` starts inherits the fault.
        let _ = c.mbctl(&["agent", "stop"]);
        let o = c.up_with_fault(&toml, Some(&format!("boot:{step}")));
        if o.status.success() {
            // Record, store, two taps and two OVS ports, VM, record, running.
            assert!(step > 9, "the hop's boot has only {} steps?", step - 1);
            let d = c.down();
            assert!(d.status.success(), "chain down: {}", text(&d));
            let left = leftovers(&c, &[&client, &server]);
            assert!(left.is_empty(), "left: {left:?}");
            return;
        }
        let err = text(&o);
        assert!(
            err.contains("everything it made was removed"),
            "boot:{step}: {err}"
        );
        let left = leftovers(&c, &[&client, &server]);
        assert!(left.is_empty(), "after boot:{step}, left: {left:?}");
        let vms = c.mbctl(&["ls", "--json"]);
        assert_eq!(text(&vms).trim(), "[]", "after boot:{step}");
    }
    panic!("the hop's boot did not finish within {STEPS_MAX} steps");
}

#[test]
fn a_failed_rollback_keeps_its_journal_for_chain_down() {
    if skip("a_failed_rollback_keeps_its_journal_for_chain_down") {
        return;
    }
    let (client, server) = (format!("mbrc{}", id()), format!("mbrs{}", id()));
    let mut c = Chain::new(&format!("cr{}", id()));
    let toml = one_hop(&c.name, &client, &server);
    // Up fails after several things exist; the rollback's first undo fails.
    let o = c.up_with_fault(&toml, Some("chain-up:8:fail,chain-undo:1:fail"));
    assert!(!o.status.success(), "{}", text(&o));
    let err = text(&o);
    assert!(
        err.contains("removing what it made failed too")
            && err.contains(&format!("mbctl chain down {}", c.name)),
        "{err}"
    );
    let left = leftovers(&c, &[&client, &server]);
    assert!(!left.is_empty(), "the failed undo left nothing to test");
    let ls = c.mbctl(&["chain", "ls"]);
    assert!(text(&ls).contains(&c.name), "{}", text(&ls));
    let d = c.down();
    assert!(d.status.success(), "chain down: {}", text(&d));
    let left = leftovers(&c, &[&client, &server]);
    assert!(left.is_empty(), "left: {left:?}");
}
