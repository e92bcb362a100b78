//! The host's network devices as address names: as Click's user-level
//! driver does, a configuration may write a device's name (`eth0`) where
//! an address, prefix or Ethernet address is expected, and `eth0:gw` for
//! the device's default gateway.

use std::collections::BTreeMap;
use std::ffi::CStr;

use click::confparse::names::AddressNames;
use click::confparse::values::{EtherAddr, Ipv4, Ipv4Prefix};

/// What one device has.
#[derive(Default, Debug, PartialEq)]
struct Device {
    ip: Option<Ipv4Prefix>,
    eth: Option<EtherAddr>,
    gw: Option<Ipv4>,
}

/// Declares every host device (from getifaddrs(3), gateways from
/// `/proc/net/route`) in `names`. A host without either declares less.
pub fn declare_host_devices(names: &mut AddressNames) {
    let mut devs = interfaces();
    if let Ok(routes) = std::fs::read_to_string("/proc/net/route") {
        for (dev, gw) in default_gateways(&routes) {
            devs.entry(dev).or_default().gw.get_or_insert(gw);
        }
    }
    for (name, d) in devs {
        names.declare_device(&name, d.ip, d.eth, d.gw);
    }
}

/// The interface whose Ethernet address `text` is, if `text` is one (as
/// Click's Linux driver finds a device named by its address).
pub fn device_by_ether(text: &str) -> Option<String> {
    let mac = EtherAddr::parse(text)?;
    interfaces()
        .into_iter()
        .find(|(_, d)| d.eth == Some(mac))
        .map(|(name, _)| name)
}

/// Each interface's first IPv4 address with its netmask's length, and its
/// Ethernet address.
fn interfaces() -> BTreeMap<String, Device> {
    let mut devs: BTreeMap<String, Device> = BTreeMap::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list freed below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return devs;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: a non-null name is a NUL-terminated string.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: ifa_addr is non-null; its family says which sockaddr
        // it is, and each is read only as that type.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        if family == libc::AF_INET {
            let addr = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
            let len = if ifa.ifa_netmask.is_null() {
                32
            } else {
                let m = unsafe { &*(ifa.ifa_netmask as *const libc::sockaddr_in) };
                u32::from_be(m.sin_addr.s_addr).leading_ones() as u8
            };
            let ip = Ipv4(addr.sin_addr.s_addr.to_ne_bytes());
            devs.entry(name)
                .or_default()
                .ip
                .get_or_insert(Ipv4Prefix { addr: ip, len });
        } else if family == libc::AF_PACKET {
            let ll = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_ll) };
            if ll.sll_hatype == libc::ARPHRD_ETHER && ll.sll_halen == 6 {
                let mut mac = [0u8; 6];
                mac.copy_from_slice(&ll.sll_addr[..6]);
                devs.entry(name).or_default().eth = Some(EtherAddr(mac));
            }
        }
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    devs
}

/// Each device's default gateway in `/proc/net/route`'s text (addresses
/// in hex, in the kernel's byte order).
fn default_gateways(routes: &str) -> Vec<(String, Ipv4)> {
    routes
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let hex = |s: &str| u32::from_str_radix(s, 16).ok();
            let (dest, gw, mask) = (hex(f.get(1)?)?, hex(f.get(2)?)?, hex(f.get(7)?)?);
            (dest == 0 && mask == 0 && gw != 0).then(|| (f[0].to_string(), Ipv4(gw.to_le_bytes())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_gateways_from_proc_net_route() {
        let text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
            eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
            eth1\t0000000A\t0100000A\t0003\t0\t0\t0\t000000FF\t0\t0\t0\n";
        assert_eq!(
            default_gateways(text),
            [("eth0".to_string(), Ipv4([192, 0, 2, 1]))]
        );
    }

    #[test]
    fn devices_by_ethernet_address() {
        assert_eq!(device_by_ether("lo"), None, "not an Ethernet address");
        assert_eq!(device_by_ether("02:00:de:ad:be:ef"), None);
        // Any Ethernet interface this host has is found by its address.
        for (name, d) in interfaces() {
            if let Some(mac) = d.eth.filter(|m| m.0 != [0; 6]) {
                let found = device_by_ether(&mac.to_string()).unwrap();
                assert_eq!(interfaces()[&found].eth, Some(mac), "{name}");
            }
        }
    }

    #[test]
    fn loopback_is_a_device_name() {
        // Every Linux host has `lo` at 127.0.0.1/8.
        let mut n = AddressNames::new();
        declare_host_devices(&mut n);
        assert_eq!(n.candidates("lo:ip"), ["127.0.0.1"]);
        assert_eq!(n.candidates("lo:ipnet"), ["127.0.0.0/8"]);
    }
}
