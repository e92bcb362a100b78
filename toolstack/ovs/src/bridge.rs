//! Bridges and ports the toolstack owns, tagged `external_ids:mbctl=OWNER`.

use crate::error::{bail, Context, Result};
use std::time::{Duration, Instant};

use crate::{netdev, Ovs, TAG};

/// Packet counters of one port, from the switch's side: `rx` is what the
/// switch received from the device, `tx` what it sent to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Packets received on the port.
    pub rx_packets: u64,
    /// Bytes received on the port.
    pub rx_bytes: u64,
    /// Packets sent out of the port.
    pub tx_packets: u64,
    /// Bytes sent out of the port.
    pub tx_bytes: u64,
    /// Packets dropped on the way out (device busy, no room).
    pub tx_dropped: u64,
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(s)
}

impl Ovs {
    /// Whether bridge `br` exists (ours or not).
    pub fn bridge_exists(&self, br: &str) -> Result<bool> {
        Ok(self.bridges()?.iter().any(|b| b == br))
    }

    /// Every bridge's name.
    pub fn bridges(&self) -> Result<Vec<String>> {
        Ok(self
            .vsctl(&["list-br"])?
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// The owner tag of bridge `br`, `None` for bridges the toolstack did
    /// not make.
    pub fn bridge_owner(&self, br: &str) -> Result<Option<String>> {
        let v = self.vsctl(&["br-get-external-id", br, TAG])?;
        let v = v.trim();
        Ok((!v.is_empty()).then(|| v.to_string()))
    }

    /// The bridges tagged with `owner` (every tagged one for `None`), with
    /// their owners.
    pub fn owned_bridges(&self, owner: Option<&str>) -> Result<Vec<(String, String)>> {
        let mut v = Vec::new();
        for b in self.bridges()? {
            if let Some(o) = self.bridge_owner(&b)? {
                if owner.is_none_or(|w| w == o) {
                    v.push((b, o));
                }
            }
        }
        Ok(v)
    }

    /// Creates bridge `br` for `owner`, with no flows at all
    /// (`fail_mode=secure`): it forwards only what rules say. Fails if a
    /// bridge of that name exists.
    pub fn add_bridge(&self, br: &str, owner: &str) -> Result<()> {
        netdev::check_ifname(br)?;
        if self.bridge_exists(br)? {
            bail!("an Open vSwitch bridge named {br} already exists");
        }
        let dp = format!("datapath_type={}", self.datapath());
        let tag = format!("external_ids:{TAG}={owner}");
        self.vsctl(&[
            "add-br",
            br,
            "--",
            "set",
            "Bridge",
            br,
            &dp,
            "fail_mode=secure",
            &tag,
        ])
        .with_context(|| format!("creating bridge {br}"))?;
        Ok(())
    }

    /// Removes bridge `br` (with its ports and rules) if the toolstack made
    /// it; a missing bridge is not an error, a foreign one is.
    pub fn del_bridge(&self, br: &str) -> Result<()> {
        if !self.bridge_exists(br)? {
            return Ok(());
        }
        if self.bridge_owner(br)?.is_none() {
            bail!(
                "refusing to remove bridge {br}: mbctl did not create it (no external_ids:{TAG})"
            );
        }
        self.vsctl(&["--if-exists", "del-br", br])
            .with_context(|| format!("removing bridge {br}"))?;
        crate::openflow::forget(&self.mgmt(br));
        Ok(())
    }

    /// Adds network device `dev` to bridge `br` as a port tagged for
    /// `owner`, with checksum and segmentation offloads off (the userspace
    /// datapath stalls TCP otherwise). Returns its OpenFlow port number.
    pub fn add_port(&self, br: &str, dev: &str, owner: &str) -> Result<u32> {
        netdev::offloads_off(dev, None);
        let tag = format!("external_ids:{TAG}={owner}");
        self.vsctl(&["add-port", br, dev, "--", "set", "Port", dev, &tag])
            .with_context(|| format!("adding {dev} to bridge {br}"))?;
        self.ofport(dev)
    }

    /// The OpenFlow port number of interface `dev` (waits briefly while
    /// the switch is still opening it).
    pub fn ofport(&self, dev: &str) -> Result<u32> {
        let start = Instant::now();
        loop {
            let v = self.vsctl(&["get", "Interface", dev, "ofport"])?;
            if let Ok(n) = v.trim().parse::<i64>() {
                if n > 0 {
                    return Ok(n as u32);
                }
            }
            if start.elapsed() > Duration::from_secs(30) {
                let err = self
                    .vsctl(&["get", "Interface", dev, "error"])
                    .unwrap_or_default();
                bail!("Open vSwitch could not open {dev}: {}", unquote(&err));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The owner tag of port `dev`, if any.
    pub fn port_owner(&self, dev: &str) -> Result<Option<String>> {
        match self.vsctl(&["get", "Port", dev, &format!("external_ids:{TAG}")]) {
            Ok(v) => Ok(Some(unquote(&v).to_string())),
            Err(e) if e.to_string().contains("no key") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes port `dev` from `br` if the toolstack added it; a missing
    /// port is not an error, a foreign one is.
    pub fn del_port(&self, br: &str, dev: &str) -> Result<()> {
        let ports = match self.vsctl(&["list-ports", br]) {
            Ok(p) => p,
            // The bridge is gone, and its ports with it.
            Err(_) if !self.bridge_exists(br)? => return Ok(()),
            Err(e) => return Err(e),
        };
        if !ports.lines().any(|p| p == dev) {
            return Ok(());
        }
        if self.port_owner(dev)?.is_none() {
            bail!("refusing to remove port {dev} of {br}: mbctl did not add it");
        }
        self.vsctl(&["--if-exists", "del-port", br, dev])?;
        Ok(())
    }

    /// The ports of bridge `br`.
    pub fn ports(&self, br: &str) -> Result<Vec<String>> {
        Ok(self
            .vsctl(&["list-ports", br])?
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// Live counters of port `dev` on bridge `br`.
    pub fn port_stats(&self, br: &str, dev: &str) -> Result<PortStats> {
        let no = self.ofport(dev)?.to_string();
        let out = self.ofctl("dump-ports", br, &[&no])?;
        parse_port_stats(&out).with_context(|| format!("reading counters of {dev}: {out}"))
    }
}

/// Parses `ovs-ofctl dump-ports` for one port.
pub fn parse_port_stats(out: &str) -> Result<PortStats> {
    let mut s = PortStats::default();
    let mut seen = (false, false);
    for line in out.lines() {
        let l = line.trim();
        // "port  1: rx pkts=3, bytes=..." then "tx pkts=...".
        let l = match l.split_once(": ") {
            Some((head, rest)) if head.starts_with("port") => rest,
            _ => l,
        };
        let (dir, rest) = match l.split_once(' ') {
            Some(x) => x,
            None => continue,
        };
        let field = |name: &str| -> u64 {
            rest.split(", ")
                .find_map(|kv| kv.trim().strip_prefix(name)?.strip_prefix('='))
                .and_then(|v| v.trim_end_matches(',').parse().ok())
                .unwrap_or(0)
        };
        match dir {
            "rx" => {
                s.rx_packets = field("pkts");
                s.rx_bytes = field("bytes");
                seen.0 = true;
            }
            "tx" => {
                s.tx_packets = field("pkts");
                s.tx_bytes = field("bytes");
                s.tx_dropped = field("drop");
                seen.1 = true;
            }
            _ => {}
        }
    }
    if !(seen.0 && seen.1) {
        bail!("no rx/tx lines");
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_stats_text() {
        let out = "OFPST_PORT reply (xid=0x2): 1 ports\n  port  2: rx pkts=17, bytes=1458, drop=0, errs=0, frame=0, over=0, crc=0\n           tx pkts=9, bytes=882, drop=3, errs=0, coll=0\n           duration=12.5s\n";
        let s = parse_port_stats(out).unwrap();
        assert_eq!(
            s,
            PortStats {
                rx_packets: 17,
                rx_bytes: 1458,
                tx_packets: 9,
                tx_bytes: 882,
                tx_dropped: 3
            }
        );
        // Unknown counters print as '?'.
        let s = parse_port_stats(
            "  port  1: rx pkts=?, bytes=?, drop=?\n tx pkts=4, bytes=?, drop=?\n",
        )
        .unwrap();
        assert_eq!((s.rx_packets, s.tx_packets), (0, 4));
        assert!(parse_port_stats("garbage").is_err());
    }

    #[test]
    fn quotes() {
        assert_eq!(unquote("\"a b\"\n"), "a b");
        assert_eq!(unquote("x"), "x");
    }
}
