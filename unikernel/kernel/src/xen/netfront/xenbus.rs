//! The xenbus handshake of a vif (frontend `device/vif/<n>/`): read the
//! backend's location and our MAC, publish ring references and the event
//! channel, walk the state machine Initialising → Initialised → Connected,
//! and on shutdown Closing → Closed.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{Netfront, Teardown};
use crate::time;
use crate::xen::grant::GrantTable;
use crate::xen::store::{sleep_ns, BootClient};

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

fn read_state(xs: &mut BootClient, path: &str) -> Option<u32> {
    xs.read_string(path).ok()?.trim().parse().ok()
}

/// Polls `path` until `done(state)` holds (`None`: the node is gone);
/// returns the state seen last.
fn wait_state(
    xs: &mut BootClient,
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

fn write(xs: &mut BootClient, path: &str, value: &str) -> Result<(), String> {
    xs.write(path, value.as_bytes())
        .map_err(|e| format!("write {path}: {e}"))
}

/// Connects vif `index`.
pub fn connect(xs: &mut BootClient, gnt: &mut GrantTable, index: u32) -> Result<Netfront, String> {
    let fe = format!("device/vif/{index}");
    let backend = xs
        .read_string(&format!("{fe}/backend"))
        .map_err(|e| format!("{fe}/backend: {e}"))?;
    let backend_id: u16 = xs
        .read_string(&format!("{fe}/backend-id"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| format!("{fe}/backend-id missing or bad"))?;
    let mac_s = xs.read_string(&format!("{fe}/mac")).unwrap_or_default();
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
    xs.transaction(|t| {
        for (k, v) in &entries {
            t.write(&format!("{fe}/{k}"), v.as_bytes())?;
        }
        t.write(&format!("{fe}/state"), format!("{INITIALISED}").as_bytes())
    })
    .map_err(|e| format!("{fe}: publishing rings: {e}"))?;
    // Linux's netback connects when the frontend says Connected.
    write(xs, &format!("{fe}/state"), &format!("{CONNECTED}"))?;
    let s = wait_state(xs, &format!("{backend}/state"), |s| {
        s.is_none_or(|s| s >= CONNECTED)
    })?;
    if s != Some(CONNECTED) {
        return Err(format!(
            "{backend}/state went to {s:?} instead of Connected"
        ));
    }
    nic.start();
    Ok(nic)
}

/// Disconnects `nic` cleanly: Closing, wait for the backend, Closed, and
/// withdraw the grants.
pub fn close(xs: &mut BootClient, gnt: &mut GrantTable, nic: &Teardown) -> Result<(), String> {
    let fe = format!("device/vif/{}", nic.index);
    let backend = xs
        .read_string(&format!("{fe}/backend"))
        .map_err(|e| format!("{fe}/backend: {e}"))?;
    write(xs, &format!("{fe}/state"), &format!("{CLOSING}"))?;
    wait_state(xs, &format!("{backend}/state"), |s| {
        s.is_none_or(|s| s >= CLOSING)
    })?;
    write(xs, &format!("{fe}/state"), &format!("{CLOSED}"))?;
    // The backend may remove its directory once closed.
    wait_state(xs, &format!("{backend}/state"), |s| {
        s.is_none_or(|s| s >= CLOSED)
    })?;
    crate::xen::evtchn::close(nic.port);
    for &r in &nic.grants {
        gnt.end(r);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
