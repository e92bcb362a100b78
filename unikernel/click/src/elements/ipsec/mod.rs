//! Click's IPsec elements (ESP tunnels, as Click 2.1 has them): a route
//! table holding security associations, ESP encapsulation and
//! decapsulation, HMAC-SHA1-96 authentication, AES-128 encryption and the
//! outer IP header. Like Click's, without anti-replay on sending, AH or a
//! key exchange: associations are configured with the routes.

use crate::element::ElementClass;

pub mod aes;
pub mod authhmacsha1;
pub mod crypto;
pub mod espencap;
pub mod espunencap;
pub mod ipsecencap;
pub mod radixipseclookup;
pub mod sa;

/// This group's classes.
pub static CLASSES: &[&ElementClass] = &[
    &aes::CLASS,
    &authhmacsha1::CLASS,
    &espencap::CLASS,
    &espunencap::CLASS,
    &ipsecencap::CLASS,
    &radixipseclookup::CLASS,
];

#[cfg(test)]
mod tests;
