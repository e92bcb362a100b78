//! IP elements: header checks and updates, ICMP responders and errors.

use crate::element::ElementClass;

pub mod check_ip_header;
pub mod check_ip_header2;
pub mod dec_ip_ttl;
pub mod icmp_error;
pub mod icmp_ping_responder;
pub mod mark_ip_header;
pub mod set_ip_checksum;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[
    &check_ip_header::CLASS,
    &check_ip_header2::CLASS,
    &dec_ip_ttl::CLASS,
    &icmp_error::CLASS,
    &icmp_ping_responder::CLASS,
    &mark_ip_header::CLASS,
    &set_ip_checksum::CLASS,
];

#[cfg(test)]
mod robustness_tests;
