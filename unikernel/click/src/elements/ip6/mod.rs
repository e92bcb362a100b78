//! IPv6 elements: header checks and updates, routing, neighbour
//! discovery, ICMPv6 errors and echo replies, fragment reassembly,
//! stateless IPv4/IPv6 translation.

use crate::element::ElementClass;
use crate::net::ip6;
use crate::packet::Packet;

pub mod address_translator;
pub mod check_ip6_header;
pub mod dec_ip6_hlim;
pub mod get_ip6_address;
pub mod icmp6_error;
pub mod icmp6_ping_responder;
pub mod ip6_mirror;
pub mod ip6_nd_advertiser;
pub mod ip6_nd_solicitor;
pub mod ip6_print;
pub mod ip6_reassembler;
pub mod lookup_ip6_route;
pub mod mark_ip6_header;
pub mod nd;
pub mod protocol_translator;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[
    &address_translator::CLASS,
    &check_ip6_header::CLASS,
    &dec_ip6_hlim::CLASS,
    &get_ip6_address::CLASS,
    &get_ip6_address::SET,
    &icmp6_error::CLASS,
    &icmp6_ping_responder::CLASS,
    &ip6_mirror::CLASS,
    &ip6_nd_advertiser::CLASS,
    &ip6_nd_solicitor::CLASS,
    &ip6_print::CLASS,
    &ip6_reassembler::CLASS,
    &lookup_ip6_route::CLASS,
    &mark_ip6_header::CLASS,
    &protocol_translator::CLASS,
    &protocol_translator::CLASS46,
    &protocol_translator::CLASS64,
];

/// The offset of the IPv6 header in `p`: the network header annotation if
/// set, else the start of the data; `None` when fewer than 40 bytes follow.
fn ip6_offset(p: &Packet) -> Option<usize> {
    let off = match p.network_header_offset() {
        Some(o) => usize::try_from(o).ok()?,
        None => 0,
    };
    (p.len() >= off + ip6::HEADER_LEN).then_some(off)
}

#[cfg(test)]
mod robustness_tests;
