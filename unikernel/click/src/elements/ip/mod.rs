//! IP elements: header checks and updates, ICMP responders and errors,
//! routing.

use crate::element::ElementClass;
use crate::net::ip;
use crate::packet::Packet;

pub mod check_ip_header;
pub mod check_ip_header2;
pub mod dec_ip_ttl;
pub mod fast_udp_source;
pub mod fix_ip_src;
pub mod get_ip_address;
pub mod icmp_error;
pub mod icmp_ping_responder;
pub mod icmp_ping_source;
pub mod ip_encap;
pub mod ip_fragmenter;
pub mod ip_gw_options;
pub mod ip_lookup;
pub mod ip_mirror;
pub mod ip_print;
pub mod ip_reassembler;
pub mod mark_ip_header;
pub mod set_ip_address;
pub mod set_ip_checksum;
pub mod set_tcp_checksum;
pub mod set_udp_checksum;
pub mod store_ip_address;
pub mod strip_ip_header;
pub mod udp_ip_encap;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[
    &check_ip_header::CLASS,
    &check_ip_header2::CLASS,
    &dec_ip_ttl::CLASS,
    &fast_udp_source::CLASS,
    &fix_ip_src::CLASS,
    &get_ip_address::CLASS,
    &icmp_error::CLASS,
    &icmp_ping_responder::CLASS,
    &icmp_ping_source::CLASS,
    &ip_encap::CLASS,
    &ip_fragmenter::CLASS,
    &ip_gw_options::CLASS,
    &ip_reassembler::CLASS,
    &ip_lookup::STATIC,
    &ip_lookup::LINEAR,
    &ip_lookup::RADIX,
    &ip_lookup::DIRECT,
    &ip_mirror::CLASS,
    &ip_print::CLASS,
    &mark_ip_header::CLASS,
    &set_ip_address::CLASS,
    &set_ip_checksum::CLASS,
    &set_tcp_checksum::CLASS,
    &set_udp_checksum::CLASS,
    &store_ip_address::CLASS,
    &strip_ip_header::CLASS,
    &udp_ip_encap::CLASS,
];

/// The IP header DecIPTTL and SetIPChecksum update: at the IP header
/// annotation if set, else at the start of the data; `None` when shorter
/// than a minimal header.
fn ip_header_mut(p: &mut Packet) -> Option<&mut [u8]> {
    let h = match p.network_header_offset() {
        Some(_) => p.network_header_mut()?,
        None => p.data_mut(),
    };
    (h.len() >= ip::MIN_HEADER_LEN).then_some(h)
}

#[cfg(test)]
mod iprouter_tests;
#[cfg(test)]
mod robustness_tests;
