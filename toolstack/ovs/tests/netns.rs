//! The real switch: a private `ovsdb-server`/`ovs-vswitchd` with the
//! userspace datapath joins two network namespaces; `ping` crosses it
//! through explicit OpenFlow rules whose counters must match; a bridge the
//! toolstack did not make survives every removal attempt. Needs root and
//! Open vSwitch: skipped with a message otherwise (never under CI).

use mb_ovs::{netdev, Ovs};
use std::path::PathBuf;
use std::process::Command;

fn skip(why: &str) -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    let have = mb_ovs::tool::which("ovs-vswitchd").is_some() && mb_ovs::tool::which("ip").is_some();
    if root && have {
        return false;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run {why} as root with Open vSwitch installed"
    );
    println!("SKIP {why}: needs root, iproute2 and openvswitch-switch");
    true
}

/// Everything the test makes, removed even when it fails.
struct Env {
    dir: PathBuf,
    ns: Vec<String>,
    links: Vec<String>,
    ovs: Option<Ovs>,
    foreign: Option<String>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(o) = &self.ovs {
            if let Some(f) = &self.foreign {
                let _ = o.vsctl_raw(&["--if-exists", "del-br", f]);
            }
            for (b, _) in o.owned_bridges(None).unwrap_or_default() {
                let _ = o.del_bridge(&b);
            }
            let _ = o.stop();
        }
        for l in &self.links {
            let _ = netdev::del_link(l, None);
        }
        for n in &self.ns {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn two_namespaces_ping_through_a_userspace_bridge() {
    if skip("two_namespaces_ping_through_a_userspace_bridge") {
        return;
    }
    let id = std::process::id() % 100000;
    let dir = std::env::temp_dir().join(format!("mb-ovs-test-{id}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut env = Env {
        dir: dir.clone(),
        ns: vec![format!("mbo{id}a"), format!("mbo{id}b")],
        links: vec![format!("mbo{id}a"), format!("mbo{id}b")],
        ovs: None,
        foreign: None,
    };
    std::env::set_var("MBCTL_OVS", "private");
    let ovs = Ovs::open(&dir).expect("starting a private Open vSwitch");
    assert!(ovs.is_private());
    assert_eq!(ovs.datapath(), "netdev");
    env.ovs = Some(ovs.clone());
    // Opening again finds the running instance.
    let again = Ovs::private(&dir).expect("reopening");
    assert_eq!(again.db(), ovs.db());

    let br = format!("mbo{id}br");
    ovs.add_bridge(&br, "t1").expect("add bridge");
    assert_eq!(ovs.bridge_owner(&br).unwrap().as_deref(), Some("t1"));
    assert!(
        ovs.add_bridge(&br, "t1").is_err(),
        "a second bridge of the same name"
    );

    let mut ports = Vec::new();
    for (i, addr) in ["10.88.0.1/24", "10.88.0.2/24"].iter().enumerate() {
        let ns = &env.ns[i];
        assert!(Command::new("ip")
            .args(["netns", "add", ns])
            .status()
            .unwrap()
            .success());
        netdev::veth_pair(&env.links[i], "eth0", Some(ns)).expect("veth");
        netdev::ip(Some(ns), &["addr", "add", addr, "dev", "eth0"]).unwrap();
        netdev::ip(Some(ns), &["link", "set", "lo", "up"]).unwrap();
        ports.push(ovs.add_port(&br, &env.links[i], "t1").expect("add port"));
    }
    // fail_mode=secure: nothing passes before the rules exist.
    let ping = |n: &str| {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &env.ns[0],
                "ping",
                "-c",
                n,
                "-i",
                "0.2",
                "-W",
                "1",
                "10.88.0.2",
            ])
            .output()
            .unwrap()
    };
    assert!(
        !ping("1").status.success(),
        "ping passed a bridge without rules"
    );
    ovs.add_flow(
        &br,
        "t1",
        &format!("in_port={},actions=output:{}", ports[0], ports[1]),
    )
    .unwrap();
    ovs.add_flow(
        &br,
        "t1",
        &format!("in_port={},actions=output:{}", ports[1], ports[0]),
    )
    .unwrap();
    let out = ping("5");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let flows = ovs.flows(&br, "t1").unwrap();
    assert_eq!(flows.len(), 2, "{flows:?}");
    let a_to_b = flows
        .iter()
        .find(|f| f.matches.contains(&format!("in_port={}", ports[0])))
        .expect("rule a->b");
    assert!(a_to_b.packets >= 5, "{flows:?}");
    let st = ovs.port_stats(&br, &env.links[1]).unwrap();
    // The switch sent b at least the five echo requests (its device
    // counters and the rule's are sampled at different moments, so they
    // need not be equal).
    assert!(st.tx_packets >= 5, "{st:?} {flows:?}");
    // Another owner's removal leaves our rules.
    ovs.del_flows(&br, "someone-else").unwrap();
    assert_eq!(ovs.flows(&br, "t1").unwrap().len(), 2);
    ovs.del_flows(&br, "t1").unwrap();
    assert!(ovs.flows(&br, "t1").unwrap().is_empty());
    assert!(
        !ping("1").status.success(),
        "ping passed after the rules went"
    );

    // A bridge someone else made: never removed, nor its ports.
    let foreign = format!("mbo{id}fx");
    env.foreign = Some(foreign.clone());
    ovs.vsctl_raw(&[
        "add-br",
        &foreign,
        "--",
        "set",
        "Bridge",
        &foreign,
        "datapath_type=netdev",
    ])
    .unwrap();
    assert_eq!(ovs.bridge_owner(&foreign).unwrap(), None);
    let e = ovs.del_bridge(&foreign).unwrap_err();
    assert!(e.to_string().contains("did not create"), "{e}");
    assert!(ovs.bridge_exists(&foreign).unwrap());
    assert_eq!(
        ovs.owned_bridges(None).unwrap(),
        vec![(br.clone(), "t1".to_string())]
    );

    ovs.del_port(&br, &env.links[0]).unwrap();
    assert_eq!(ovs.ports(&br).unwrap(), vec![env.links[1].clone()]);
    ovs.del_bridge(&br).unwrap();
    assert!(!ovs.bridge_exists(&br).unwrap());
    ovs.del_bridge(&br)
        .expect("removing a missing bridge is fine");
    ovs.vsctl_raw(&["del-br", &foreign]).unwrap();
    env.foreign = None;
    ovs.stop().unwrap();
    assert!(
        Ovs::private_if_running(&dir).is_none(),
        "daemons still answer after stop"
    );
}
