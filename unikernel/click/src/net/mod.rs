//! Small, allocation-free helpers for the headers the element library
//! reads and writes: the Internet checksum and its incremental update, and
//! field access for Ethernet, ARP, IPv4, IPv6 and ICMP.
//!
//! Every accessor works on a byte slice and checks its length, so elements
//! built on them never index past a short packet.

pub mod arp;
pub mod checksum;
pub mod ether;
pub mod icmp;
pub mod ip;
pub mod ip6;
