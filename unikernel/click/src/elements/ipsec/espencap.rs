//! `IPsecESPEncap()`: prepends an ESP header (SPI, replay counter, IV) and appends RFC 2406 padding and trailer.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! For packets `RadixIPsecLookup` sent into a tunnel (its output 1): the
//! whole packet becomes the ESP payload. In front goes a 16-byte header:
//! the SPI from the packet's annotation, the association's replay counter
//! (which then counts up, restarting at its configured start when it
//! wraps to 0), and an 8-byte random IV. After it go 2 to 9 bytes of
//! padding `1 2 3 ...` making the payload with its trailer a multiple of
//! 8 bytes, the padding length, and the next-header byte: the protocol
//! of the packet's IP header annotation (0 if none), as Click sets it.
//! Packets without an association are dropped with a message.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! rt[1] -> IPsecESPEncap -> IPsecAuthHMACSHA1(0) -> IPsecAES(1) -> IPsecEncap(50) -> [0] rt;
//! ```

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use core::cell::RefCell;

use super::sa::{sa_of, upstream_table, SaTable, SPI_ANNO};
use crate::element::{simple_action, Element, ElementClass};
use crate::elements::nat::rng::Rng;
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `IPsecESPEncap` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPsecESPEncap",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |_args, cx| {
        Ok(Box::new(EspEncap {
            table: Rc::new(RefCell::new(BTreeMap::new())),
            rng: Rng::from_name(cx.name()),
        }))
    },
};

/// The ESP header's length: SPI, replay counter, IV.
pub const ESP_HEADER: usize = 16;
/// ESP's block size for padding.
const BLOCK: usize = 8;

/// The encapsulator.
pub struct EspEncap {
    table: SaTable,
    rng: Rng,
}

impl EspEncap {
    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        let replay = sa_of(&p).and_then(|s| {
            let mut t = self.table.borrow_mut();
            let sa = t.get_mut(&s)?;
            let r = sa.next_replay;
            sa.next_replay = match r.wrapping_add(1) {
                0 => sa.replay_start,
                n => n,
            };
            Some(r)
        });
        let Some(replay) = replay else {
            cx.log("no security association for this packet");
            cx.kill(p);
            return None;
        };
        let next_header = p
            .network_header()
            .and_then(|h| h.get(9).copied())
            .unwrap_or(0);
        let len = p.len();
        let padding = (BLOCK - (len + 2) % BLOCK) % BLOCK + 2;
        let spi = p.anno_u32(SPI_ANNO).unwrap_or(0);
        let iv = self.rng.next_u64().to_be_bytes();
        p.push(ESP_HEADER);
        p.put(padding);
        let d = p.data_mut();
        d[0..4].copy_from_slice(&spi.to_be_bytes());
        d[4..8].copy_from_slice(&replay.to_be_bytes());
        d[8..16].copy_from_slice(&iv);
        let pad = &mut d[ESP_HEADER + len..];
        for (i, b) in pad[..padding - 2].iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        pad[padding - 2] = (padding - 2) as u8;
        pad[padding - 1] = next_header;
        Some(p)
    }
}

impl Element for EspEncap {
    simple_action!();

    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.table = upstream_table(cx)?;
        Ok(())
    }
}
