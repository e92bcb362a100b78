//! The xenbus handshake of a vif (frontend `device/vif/<n>/`): read the
//! backend's location and our MAC, publish ring references and the event
//! channel, walk the state machine Initialising → Initialised → Connected,
//! and on shutdown Closing → Closed. The same steps run at boot (over the
//! blocking boot client) and when a backend comes back while the router
//! runs (over the multiplexer, see [`Xs`]); [`next_action`] decides when.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{Netfront, Teardown};
use crate::time;
use crate::xen::grant::GrantTable;
use crate::xen::store::{sleep_ns, BootClient, MuxClient};

/// `XenbusStateInitialised`.
const INITIALISED: u32 = 3;
/// `XenbusStateInitWait`.
const INIT_WAIT: u32 = 2;
/// `XenbusStateConnected`.
const CONNECTED: u32 = 4;
/// `XenbusStateClosing`.
const CLOSING: u32 = 5;
/// `XenbusStateClosed`.
const CLOSED: u32 = 6;

/// How long a backend may take to reach a state.
const STATE_TIMEOUT_NS: u64 = 30_000_000_000;

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.trim().split(':');
    for b in mac.iter_mut() {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The vif indices under `device/vif`, in numeric order.
pub fn vif_indices(xs: &mut BootClient) -> Vec<u32> {
    let mut v: Vec<u32> = xs
        .directory("device/vif")
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    v.sort_unstable();
    v
}

/// The store operations the handshake needs.
pub trait Xs {
    /// The node's value, if it exists.
    fn read_str(&mut self, path: &str) -> Option<String>;
    /// Writes one node.
    fn write_str(&mut self, path: &str, value: &str) -> Result<(), String>;
    /// Writes `entries` under `dir`, then `dir/state` = `state`.
    fn publish(&mut self, dir: &str, entries: &[(&str, String)], state: u32) -> Result<(), String>;
}

impl Xs for BootClient {
    fn read_str(&mut self, path: &str) -> Option<String> {
        self.read_string(path).ok()
    }
    fn write_str(&mut self, path: &str, value: &str) -> Result<(), String> {
        self.write(path, value.as_bytes())
            .map_err(|e| format!("write {path}: {e}"))
    }
    fn publish(&mut self, dir: &str, entries: &[(&str, String)], state: u32) -> Result<(), String> {
        self.transaction(|t| {
            for (k, v) in entries {
                t.write(&format!("{dir}/{k}"), v.as_bytes())?;
            }
            t.write(&format!("{dir}/state"), format!("{state}").as_bytes())
        })
        .map_err(|e| format!("{dir}: publishing rings: {e}"))
    }
}

fn path_arg(path: &str) -> Vec<u8> {
    let mut p = Vec::from(path.as_bytes());
    p.push(0);
    p
}

impl Xs for MuxClient {
    fn read_str(&mut self, path: &str) -> Option<String> {
        let v = self.call(xenstore::MsgType::Read, path_arg(path)).ok()?;
        String::from_utf8(v).ok()
    }
    fn write_str(&mut self, path: &str, value: &str) -> Result<(), String> {
        let mut p = path_arg(path);
        p.extend_from_slice(value.as_bytes());
        self.call(xenstore::MsgType::Write, p)
            .map(|_| ())
            .map_err(|e| format!("write {path}: {e}"))
    }
    fn publish(&mut self, dir: &str, entries: &[(&str, String)], state: u32) -> Result<(), String> {
        // No transaction: the backend only reads the entries once the
        // state, written last, says they are there.
        for (k, v) in entries {
            self.write_str(&format!("{dir}/{k}"), v)?;
        }
        self.write_str(&format!("{dir}/state"), &format!("{state}"))
    }
}

fn read_state(xs: &mut impl Xs, path: &str) -> Option<u32> {
    xs.read_str(path)?.trim().parse().ok()
}

/// What a vif should do after its frontend or backend nodes changed.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Action {
    /// Nothing.
    Stay,
    /// The link is up but the backend left Connected (closing, gone, or
    /// restarted) or the frontend directory went away: close it.
    Close,
    /// The link is down and a backend waits for us: redo the handshake.
    Reconnect,
}

/// Decides from whether the link is `up`, the frontend's `state` node
/// (`None`: gone) and the backend's.
pub fn next_action(up: bool, fe: Option<u32>, be: Option<u32>) -> Action {
    if up {
        if fe.is_none() || be != Some(CONNECTED) {
            return Action::Close;
        }
        return Action::Stay;
    }
    if fe.is_some() && be == Some(INIT_WAIT) {
        return Action::Reconnect;
    }
    Action::Stay
}

/// Reads the two states [`next_action`] looks at.
pub fn states(xs: &mut impl Xs, index: u32) -> (Option<u32>, Option<u32>) {
    let fe = format!("device/vif/{index}");
    let fs = read_state(xs, &format!("{fe}/state"));
    let bs = xs
        .read_str(&format!("{fe}/backend"))
        .and_then(|b| read_state(xs, &format!("{}/state", b.trim())));
    (fs, bs)
}

/// The backend directory of vif `index`.
pub fn backend_path(xs: &mut impl Xs, index: u32) -> Option<String> {
    xs.read_str(&format!("device/vif/{index}/backend"))
        .map(|s| String::from(s.trim()))
}

/// Polls `path` until `done(state)` holds (`None`: the node is gone);
/// returns the state seen last.
fn wait_state(
    xs: &mut impl Xs,
    path: &str,
    done: impl Fn(Option<u32>) -> bool,
) -> Result<Option<u32>, String> {
    let deadline = time::now_ns() + STATE_TIMEOUT_NS;
    loop {
        let s = read_state(xs, path);
        if done(s) {
            return Ok(s);
        }
        if time::now_ns() > deadline {
            return Err(format!("{path} stuck at {s:?}"));
        }
        sleep_ns(2_000_000);
    }
}

fn write(xs: &mut impl Xs, path: &str, value: &str) -> Result<(), String> {
    xs.write_str(path, value)
}

/// Connects vif `index`.
pub fn connect(xs: &mut impl Xs, gnt: &mut GrantTable, index: u32) -> Result<Netfront, String> {
    let fe = format!("device/vif/{index}");
    let backend = backend_path(xs, index).ok_or_else(|| format!("{fe}/backend missing"))?;
    let backend_id: u16 = xs
        .read_str(&format!("{fe}/backend-id"))
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| format!("{fe}/backend-id missing or bad"))?;
    let mac_s = xs.read_str(&format!("{fe}/mac")).unwrap_or_default();
    let mac = parse_mac(&mac_s).ok_or_else(|| format!("{fe}/mac: bad MAC {mac_s:?}"))?;

    wait_state(xs, &format!("{backend}/state"), |s| {
        s.is_some_and(|s| s >= INIT_WAIT)
    })?;
    let mut nic = Netfront::alloc(gnt, index, mac, backend_id)?;

    let entries = [
        ("tx-ring-ref", format!("{}", nic.tx_ring_ref)),
        ("rx-ring-ref", format!("{}", nic.rx_ring_ref)),
        ("event-channel", format!("{}", nic.port)),
        ("request-rx-copy", "1".into()),
        ("feature-rx-notify", "1".into()),
        ("feature-sg", "0".into()),
        ("feature-gso-tcpv4", "0".into()),
        ("feature-gso-tcpv6", "0".into()),
        // We never fill in checksums the backend left blank: have the
        // backend's stack complete them.
        ("feature-no-csum-offload", "1".into()),
        ("feature-ipv6-csum-offload", "0".into()),
    ];
    if let Err(e) = xs.publish(&fe, &entries, INITIALISED) {
        nic.abandon(gnt);
        return Err(e);
    }
    // Linux's netback connects when the frontend says Connected.
    let s = write(xs, &format!("{fe}/state"), &format!("{CONNECTED}")).and_then(|()| {
        wait_state(xs, &format!("{backend}/state"), |s| {
            s.is_none_or(|s| s >= CONNECTED)
        })
    });
    if s != Ok(Some(CONNECTED)) {
        nic.abandon(gnt);
        return Err(match s {
            Err(e) => e,
            Ok(s) => format!("{backend}/state went to {s:?} instead of Connected"),
        });
    }
    nic.start();
    Ok(nic)
}

/// Walks vif `index` through Closing → Closed, waiting for the backend
/// to follow (or remove its directory).
pub fn close_states(xs: &mut impl Xs, index: u32) -> Result<(), String> {
    let fe = format!("device/vif/{index}");
    let backend = backend_path(xs, index).ok_or_else(|| format!("{fe}/backend missing"))?;
    write(xs, &format!("{fe}/state"), &format!("{CLOSING}"))?;
    wait_state(xs, &format!("{backend}/state"), |s| {
        s.is_none_or(|s| s >= CLOSING)
    })?;
    write(xs, &format!("{fe}/state"), &format!("{CLOSED}"))?;
    // The backend may remove its directory once closed.
    wait_state(xs, &format!("{backend}/state"), |s| {
        s.is_none_or(|s| s >= CLOSED)
    })?;
    Ok(())
}

/// Disconnects `nic` cleanly: Closing, wait for the backend, Closed, and
/// withdraw the grants.
pub fn close(xs: &mut impl Xs, gnt: &mut GrantTable, nic: &Teardown) -> Result<(), String> {
    close_states(xs, nic.index)?;
    crate::xen::evtchn::close(nic.port);
    for &r in &nic.grants {
        gnt.end(r);
    }
    Ok(())
}

/// Whether a backend in state `be` expects the frontend to walk through
/// Closing → Closed before it lets go (the toolstack detaching it).
pub fn backend_closing(be: Option<u32>) -> bool {
    matches!(be, Some(CLOSING) | Some(CLOSED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connected_vif_closes_when_its_backend_leaves_connected() {
        use Action::*;
        assert_eq!(next_action(true, Some(4), Some(4)), Stay);
        // xl network-detach: the toolstack sets the backend Closing.
        assert_eq!(next_action(true, Some(4), Some(CLOSING)), Close);
        assert_eq!(next_action(true, Some(4), Some(CLOSED)), Close);
        // Nodes removed under us.
        assert_eq!(next_action(true, None, Some(4)), Close);
        assert_eq!(next_action(true, Some(4), None), Close);
        // A backend that restarted and waits for a frontend again.
        assert_eq!(next_action(true, Some(4), Some(INIT_WAIT)), Close);
        assert_eq!(next_action(true, Some(1), Some(1)), Close);
    }

    #[test]
    fn a_closed_vif_reconnects_once_a_backend_waits() {
        use Action::*;
        // Detached: both directories gone, or the backend still closing.
        assert_eq!(next_action(false, None, None), Stay);
        assert_eq!(next_action(false, Some(CLOSED), Some(CLOSED)), Stay);
        assert_eq!(next_action(false, Some(CLOSED), Some(CLOSING)), Stay);
        // Re-attached: new frontend nodes, the backend's hotplug not done.
        assert_eq!(next_action(false, Some(1), Some(1)), Stay);
        assert_eq!(next_action(false, Some(1), None), Stay);
        // The backend is ready for a frontend.
        assert_eq!(next_action(false, Some(1), Some(INIT_WAIT)), Reconnect);
        assert_eq!(next_action(false, Some(CLOSED), Some(INIT_WAIT)), Reconnect);
        // No frontend directory: nothing to connect.
        assert_eq!(next_action(false, None, Some(INIT_WAIT)), Stay);
        // Garbage states never reconnect or panic.
        assert_eq!(next_action(false, Some(u32::MAX), Some(0)), Stay);
    }

    #[test]
    fn parses_macs() {
        assert_eq!(
            parse_mac("00:16:3e:0a:0b:ff"),
            Some([0, 0x16, 0x3e, 0x0a, 0x0b, 0xff])
        );
        assert_eq!(
            parse_mac(" 00:16:3e:0a:0b:ff\n"),
            Some([0, 0x16, 0x3e, 0x0a, 0x0b, 0xff])
        );
        assert_eq!(parse_mac("00:16:3e:0a:0b"), None);
        assert_eq!(parse_mac("00:16:3e:0a:0b:ff:00"), None);
        assert_eq!(parse_mac("0:16:3e:0a:0b:ff"), None);
        assert_eq!(parse_mac("zz:16:3e:0a:0b:ff"), None);
    }
}
