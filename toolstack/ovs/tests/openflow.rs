//! The kept OpenFlow connection against a real private Open vSwitch: a
//! bundle of group, fence and deletion changes lands as `ovs-ofctl`'s
//! would, a refused one changes nothing and says why, and a restarted
//! switch is reconnected to. Needs root and Open vSwitch: skipped with a
//! message otherwise (never under CI). Run it under the shared OVS lock
//! (`flock /work/wt/ovs.lock`) where other tests bring up chains.

use mb_ovs::{Change, Ovs};
use std::path::{Path, PathBuf};

fn skip(why: &str) -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    if root && mb_ovs::tool::which("ovs-vswitchd").is_some() {
        return false;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run {why} as root with Open vSwitch installed"
    );
    println!("SKIP {why}: needs root and openvswitch-switch");
    true
}

/// The private switch and its directory, removed even when the test fails.
struct Env {
    dir: PathBuf,
    ovs: Option<Ovs>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(o) = &self.ovs {
            for (b, _) in o.owned_bridges(None).unwrap_or_default() {
                let _ = o.del_bridge(&b);
            }
            let _ = o.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ofctl(dir: &Path, cmd: &str, br: &str) -> String {
    let target = format!("unix:{}", dir.join(format!("{br}.mgmt")).display());
    mb_ovs::tool::run("ovs-ofctl", &["-O", "OpenFlow15", cmd, &target], &[]).expect(cmd)
}

fn group(create: bool, id: u32, buckets: Vec<u32>) -> Change {
    Change::SelectGroup {
        create,
        id,
        fields: "ip_src,ip_dst,tcp_src,tcp_dst",
        buckets,
        then: 4,
    }
}

fn drop_from(in_port: u32) -> Change {
    Change::Drop {
        cookie: 0x6d62_0000_0000_0f0f,
        table: 0,
        priority: 50,
        in_port,
    }
}

#[test]
fn group_bundles_over_a_kept_connection() {
    if skip("group_bundles_over_a_kept_connection") {
        return;
    }
    let id = std::process::id() % 100000;
    let dir = std::env::temp_dir().join(format!("mb-ovs-of-{id}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut env = Env {
        dir: dir.clone(),
        ovs: None,
    };
    let ovs = Ovs::private(&dir).expect("starting a private Open vSwitch");
    env.ovs = Some(ovs.clone());
    let br = format!("mbof{id}");
    ovs.add_bridge(&br, "t").expect("add bridge");

    // With a rule only ovs-ofctl writes: that path.
    let first = [
        group(true, 2, vec![]),
        Change::Text("flow add cookie=0x6d620000000f0f0f,table=4,priority=1,actions=drop".into()),
    ];
    ovs.bundle(&br, &first).expect("bundle through ovs-ofctl");

    // Only groups, fences and deletions: the kept connection.
    let fence = Change::DeleteFlows {
        cookie: 0x6d62_0000_0000_0f0f,
        out_port: None,
    };
    ovs.bundle(
        &br,
        &[group(false, 2, vec![5, 7]), fence.clone(), drop_from(9)],
    )
    .expect("bundle over the connection");
    let groups = ofctl(&dir, "dump-groups", &br);
    assert!(
        groups.contains("group_id=2,type=select")
            && groups
                .contains("bucket=bucket_id:5,actions=set_field:0x5/0xffff->reg1,resubmit(,4)")
            && groups.contains("bucket_id:7")
            && groups.contains("selection_method=hash,fields(ip_src,ip_dst,tcp_src,tcp_dst)"),
        "{groups}"
    );
    let flows = ofctl(&dir, "dump-flows", &br);
    assert!(
        flows.contains("priority=50,in_port=9 actions=drop"),
        "{flows}"
    );

    // A refused change: nothing of the bundle applies, the error names it.
    let e = ovs
        .bundle(&br, &[drop_from(11), group(false, 42, vec![1])])
        .unwrap_err();
    let m = format!(
        "{e}: {}",
        std::error::Error::source(&e)
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    assert!(
        m.contains("UNKNOWN_GROUP") && m.contains("group_id=42"),
        "{m}"
    );
    println!("a refused bundle: {m}");
    let flows = ofctl(&dir, "dump-flows", &br);
    assert!(!flows.contains("in_port=11"), "{flows}");
    // The connection is still good after a refusal.
    ovs.bundle(&br, &[group(false, 2, vec![8])])
        .expect("after a refusal");
    assert!(ofctl(&dir, "dump-groups", &br).contains("bucket_id:8"));

    // The switch restarts: the kept connection dropped, a new one is made.
    ovs.stop().expect("stopping the switch");
    let ovs = Ovs::private(&dir).expect("restarting the switch");
    for _ in 0..100 {
        if dir.join(format!("{br}.mgmt")).exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    ovs.bundle(&br, &[group(true, 2, vec![3])])
        .expect("bundle after the switch restarted");
    assert!(ofctl(&dir, "dump-groups", &br).contains("bucket_id:3"));
}
