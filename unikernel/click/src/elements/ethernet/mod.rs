//! Ethernet elements: headers (EtherEncap, EtherRewrite, EtherMirror) and
//! ARP (ARPResponder, ARPQuerier).

use crate::element::ElementClass;

pub mod arp_querier;
pub mod arp_responder;
pub mod ether_encap;
pub mod ether_mirror;
pub mod ether_rewrite;
pub mod vlan_decap;
pub mod vlan_encap;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[
    &arp_querier::CLASS,
    &arp_responder::CLASS,
    &ether_encap::CLASS,
    &ether_mirror::CLASS,
    &ether_rewrite::CLASS,
    &vlan_decap::CLASS,
    &vlan_encap::CLASS,
];
