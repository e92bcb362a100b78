//! OpenFlow rules, each carrying its owner's cookie so that removing an
//! owner's rules never touches anyone else's.

use crate::error::{Context, Result};

use crate::openflow::Change;
use crate::Ovs;

/// One rule's counters, as `ovs-ofctl dump-flows` prints them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowStats {
    /// The match part (`in_port=1` ...), without counters.
    pub matches: String,
    /// Packets that hit it.
    pub packets: u64,
    /// Bytes that hit it.
    pub bytes: u64,
    /// Its actions.
    pub actions: String,
}

/// The cookie of an owner's rules: a 32-bit FNV-1a hash of its name under
/// a fixed high word, so `ovs-ofctl dump-flows` shows them as ours.
pub fn cookie_of(owner: &str) -> u64 {
    let mut h: u32 = 0x811c_9dc5;
    for b in owner.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    0x6d62_0000_0000_0000 | h as u64
}

impl Ovs {
    /// Adds rule `flow` (ovs-ofctl syntax, e.g. `in_port=1,actions=output:2`)
    /// to `br` with `owner`'s cookie.
    pub fn add_flow(&self, br: &str, owner: &str, flow: &str) -> Result<()> {
        let f = format!("cookie={:#x},{flow}", cookie_of(owner));
        self.ofctl("add-flow", br, &[&f])
            .with_context(|| format!("adding rule '{flow}' to {br}"))?;
        Ok(())
    }

    /// Removes every rule of `owner` from `br`.
    pub fn del_flows(&self, br: &str, owner: &str) -> Result<()> {
        let f = format!("cookie={:#x}/-1", cookie_of(owner));
        self.ofctl("del-flows", br, &[&f])?;
        Ok(())
    }

    /// The rules of `owner` on `br`, with their counters (brought up to
    /// date first: the datapath's flow cache pushes them to the rules only
    /// on each revalidation round).
    pub fn flows(&self, br: &str, owner: &str) -> Result<Vec<FlowStats>> {
        self.sync_stats();
        let f = format!("cookie={:#x}/-1", cookie_of(owner));
        Ok(parse_flows(&self.ofctl("dump-flows", br, &[&f])?))
    }
}

impl Ovs {
    /// Applies `changes` to `br` atomically, in order, as one OpenFlow
    /// 1.5 bundle: either all apply or none does, so no packet sees a
    /// half-changed table. A bundle of changes [`Change::encode`] knows
    /// (the controller's: groups, fences, deletions) goes over a
    /// connection kept open to the bridge; any other through `ovs-ofctl
    /// bundle`, whose syntax each change's text is.
    pub fn bundle(&self, br: &str, changes: &[Change]) -> Result<()> {
        if changes.iter().all(|c| c.encode(0).is_some()) {
            return crate::openflow::apply(&self.mgmt(br), changes)
                .with_context(|| format!("changing the rules of {br}"));
        }
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let file = self.rundir().join(format!(
            "bundle-{}-{}.txt",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let text: String = changes.iter().map(|c| format!("{c}\n")).collect();
        std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
        let f = file.display().to_string();
        let r = self.ofctl("bundle", br, &["-O", "OpenFlow15", &f]);
        let _ = std::fs::remove_file(&file);
        r.with_context(|| format!("changing the rules of {br}"))?;
        Ok(())
    }

    /// The rules of `br` in table `table` with cookie `cookie` whose
    /// actions output to port `out_port`, without counters' refresh.
    pub fn flows_to(
        &self,
        br: &str,
        cookie: u64,
        table: u8,
        out_port: u32,
    ) -> Result<Vec<FlowStats>> {
        let f = format!("cookie={cookie:#x}/-1,table={table},out_port={out_port}");
        Ok(parse_flows(&self.ofctl("dump-flows", br, &[&f])?))
    }
}

impl Ovs {
    /// Waits for a revalidation round so rule counters include every
    /// packet the datapath has forwarded so far. Best effort.
    pub fn sync_stats(&self) {
        let target = if self.is_private() {
            self.rundir().join("ovs-vswitchd.ctl").display().to_string()
        } else {
            "ovs-vswitchd".to_string()
        };
        let _ = crate::tool::run("ovs-appctl", &["-t", &target, "revalidator/wait"], &[]);
        let _ = crate::tool::run("ovs-appctl", &["-t", &target, "revalidator/wait"], &[]);
    }
}

/// Parses `ovs-ofctl dump-flows` output.
pub fn parse_flows(out: &str) -> Vec<FlowStats> {
    let mut v = Vec::new();
    for line in out.lines() {
        let l = line.trim();
        let Some((head, actions)) = l.split_once(" actions=") else {
            continue;
        };
        let mut packets = 0;
        let mut bytes = 0;
        let mut matches = String::new();
        for part in head.split(", ") {
            let part = part.trim();
            if let Some(n) = part.strip_prefix("n_packets=") {
                packets = n.parse().unwrap_or(0);
            } else if let Some(n) = part.strip_prefix("n_bytes=") {
                bytes = n.parse().unwrap_or(0);
            } else if !part.contains('=') || part.contains(' ') || part.contains(',') {
                // The last field holds the match after the priority:
                // "idle_age=3, priority=10,in_port=1" -> "priority=10,in_port=1".
                matches = part.rsplit(' ').next().unwrap_or(part).to_string();
            } else if part.starts_with("priority") || part.starts_with("in_port") {
                matches = part.to_string();
            }
        }
        v.push(FlowStats {
            matches,
            packets,
            bytes,
            actions: actions.to_string(),
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_differ_and_are_tagged() {
        assert_ne!(cookie_of("a"), cookie_of("b"));
        assert_eq!(cookie_of("a") >> 32, 0x6d62_0000);
    }

    #[test]
    fn dump_flows_text() {
        let out = "NXST_FLOW reply (xid=0x4):\n cookie=0x6d620000e40c292c, duration=3.1s, table=0, n_packets=12, n_bytes=1176, idle_age=0, priority=10,in_port=1 actions=output:2\n cookie=0x6d620000e40c292c, duration=3.1s, table=0, n_packets=0, n_bytes=0, idle_age=3, in_port=2 actions=output:1\n";
        let f = parse_flows(out);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].packets, 12);
        assert_eq!(f[0].bytes, 1176);
        assert_eq!(f[0].matches, "priority=10,in_port=1");
        assert_eq!(f[0].actions, "output:2");
        assert_eq!(f[1].matches, "in_port=2");
    }
}
