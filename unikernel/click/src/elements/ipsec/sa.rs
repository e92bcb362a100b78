//! Security associations and the IPsec route syntax they are configured
//! with, shared by `RadixIPsecLookup` (which owns the table) and the
//! IPsec elements downstream of it (which find it at initialization).
//! Packets carry their association as its SPI in an annotation, as
//! Click's carry a pointer to it.

use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;

use super::super::tcp::nearest;
use crate::confparse::{split_words, Ipv4, Ipv4Prefix};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;

/// Annotation: the SPI a tunnelled packet is to be sent with (4 bytes;
/// Click's `IPSEC_SPI_ANNO`, sharing its bytes with `EXTRA_PACKETS`).
pub const SPI_ANNO: usize = 32;
/// Annotation: the SPI of the association that processes a packet (4
/// bytes; where Click's `IPSEC_SA_DATA_REFERENCE_ANNO` points at it).
pub const SA_ANNO: usize = 36;

/// One security association.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sa {
    /// AES-128 key.
    pub enc_key: [u8; 16],
    /// HMAC-SHA1 key.
    pub auth_key: [u8; 16],
    /// Where the sending replay counter restarts after it wraps.
    pub replay_start: u32,
    /// The next replay counter to send.
    pub next_replay: u32,
    /// The receiving replay window's size.
    pub window: u8,
    /// Replay counters seen below `last_seq` (bit n: `last_seq - n`).
    pub seen: u32,
    /// The highest replay counter received.
    pub last_seq: u32,
}

/// The associations, by SPI.
pub type SaTable = Rc<RefCell<BTreeMap<u32, Sa>>>;

/// One route: prefix, gateway, output and, for a tunnel, its SPI and
/// association.
#[derive(Clone, Debug)]
pub struct Route {
    /// Destination prefix (host bits cleared).
    pub prefix: Ipv4Prefix,
    /// Gateway, if any.
    pub gw: Option<Ipv4>,
    /// Output port; `None` only in a removal.
    pub out: Option<usize>,
    /// The tunnel's SPI and association.
    pub sa: Option<(u32, Sa)>,
}

/// A key: 16 bytes written as text (Click's form), or 32 hex digits
/// (the form Click's own `ipsec-router.click` writes, which Click 2.1's
/// length check refuses).
fn key(w: &str, name: &str) -> Result<[u8; 16], ConfigError> {
    let b = w.as_bytes();
    if b.len() == 16 {
        return Ok(b.try_into().unwrap_or([0; 16]));
    }
    let mut k = [0u8; 16];
    if b.len() == 32 {
        let ok = (0..16).all(|i| match u8::from_str_radix(&w[2 * i..2 * i + 2], 16) {
            Ok(v) => {
                k[i] = v;
                true
            }
            Err(_) => false,
        });
        if ok && w.is_ascii() {
            return Ok(k);
        }
    }
    Err(ConfigError::bad_value(
        name,
        "16 bytes of text or 32 hex digits",
        w,
    ))
}

/// Parses `ADDR/MASK [GW | -] OUT [SPI ENCRYPT_KEY AUTH_KEY REPLAY OOSIZE]`
/// (for a removal, `ADDR/MASK [GW] [OUT]`).
pub fn parse_route(text: &str, removal: bool) -> Result<Route, ConfigError> {
    let words = split_words(text);
    let bad = || {
        ConfigError::bad_value(
            "route",
            "ADDR/MASK [GATEWAY] OUTPUT [SPI ENCRYPT_KEY AUTH_KEY REPLAY OOSIZE]",
            text,
        )
    };
    let mut w = words.iter().map(|s| s.as_str());
    let p = w.next().and_then(Ipv4Prefix::parse).ok_or_else(bad)?;
    let prefix = Ipv4Prefix {
        addr: Ipv4::from_u32(p.addr.to_u32() & p.mask()),
        len: p.len,
    };
    let mut next = w.next();
    let mut gw = None;
    if next == Some("-") {
        next = w.next();
    } else if let Some(g) = next.and_then(Ipv4::parse) {
        gw = Some(g);
        next = w.next();
    }
    let out = match next {
        Some(o) => Some(o.parse::<usize>().map_err(|_| bad())?),
        None if removal => None,
        None => return Err(bad()),
    };
    let rest: Vec<&str> = w.collect();
    let sa = match rest.as_slice() {
        [] => None,
        [spi, enc, auth, replay, window] => {
            let spi = spi
                .parse::<u32>()
                .map_err(|_| ConfigError::bad_value("SPI", "an integer", spi))?;
            let replay = replay
                .parse::<u32>()
                .map_err(|_| ConfigError::bad_value("REPLAY", "an integer", replay))?;
            let window = window
                .parse::<u8>()
                .map_err(|_| ConfigError::bad_value("OOSIZE", "an integer 0-255", window))?;
            Some((
                spi,
                Sa {
                    enc_key: key(enc, "ENCRYPT_KEY")?,
                    auth_key: key(auth, "AUTH_KEY")?,
                    replay_start: replay,
                    next_replay: replay,
                    window,
                    seen: 0,
                    last_seq: 0,
                },
            ))
        }
        _ => return Err(bad()),
    };
    Ok(Route {
        prefix,
        gw,
        out,
        sa,
    })
}

/// The association table of the `RadixIPsecLookup` upstream of input 0
/// of the element `cx` belongs to (for the IPsec elements' initialize).
pub fn upstream_table(cx: &Ctx) -> Result<SaTable, ConfigError> {
    let r = cx.router();
    nearest(r, cx.eid(), 0, false, "RadixIPsecLookup")
        .into_iter()
        .find_map(|e| {
            cx.with_element(e, |el, _| {
                el.downcast_ref::<super::radixipseclookup::RadixIpsecLookup>()
                    .map(|l| l.table())
            })
            .flatten()
        })
        .ok_or_else(|| {
            ConfigError::initialize(
                "no RadixIPsecLookup upstream (it holds the security associations)",
            )
        })
}

/// The SPI of the association a packet is to be processed with, if any.
pub fn sa_of(p: &Packet) -> Option<u32> {
    p.anno_u32(SA_ANNO).filter(|&s| s != 0)
}
