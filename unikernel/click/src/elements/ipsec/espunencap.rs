//! `IPsecESPUnencap()`: checks an ESP packet's replay counter and padding, and strips its header and trailer.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! For ESP packets (starting at the ESP header, decrypted and
//! authenticated) carrying their association in an annotation, as
//! `RadixIPsecLookup` output 0 and `IPsecAES(0)`/`IPsecAuthHMACSHA1(1)`
//! leave them. The replay counter must be new: higher than any seen
//! (moving the window), or within the association's window below the
//! highest and not seen before; counter 0 is refused. As in Click, the
//! configured start value is taken for a sender whose counter wrapped
//! and restarts the window whenever it is not the highest seen (so a
//! replayed first packet of an association is accepted: Click's
//! weakness, kept for interworking). The
//! padding must be `1 2 3 ...` of the length the trailer gives. Then the
//! 16-byte header, the padding and the 2-byte trailer are removed,
//! leaving the inner packet. Packets failing a check, too short, or with
//! no association are dropped with a message.
//!
//! # Keywords
//! None.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! rt[0] -> StripIPHeader -> IPsecAES(0) -> IPsecAuthHMACSHA1(1)
//!   -> IPsecESPUnencap -> CheckIPHeader -> [0] rt;
//! ```

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use core::cell::RefCell;

use super::espencap::ESP_HEADER;
use super::sa::{sa_of, upstream_table, Sa, SaTable};
use crate::element::{simple_action, Element, ElementClass};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `IPsecESPUnencap` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPsecESPUnencap",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |_args, _cx| {
        Ok(Box::new(EspUnencap {
            table: Rc::new(RefCell::new(BTreeMap::new())),
        }))
    },
};

/// The decapsulator.
pub struct EspUnencap {
    table: SaTable,
}

/// Whether replay counter `seq` is acceptable, recording it if so.
fn fresh(sa: &mut Sa, seq: u32) -> bool {
    if seq == 0 {
        return false;
    }
    let window = u32::from(sa.window).min(32);
    if seq == sa.replay_start && sa.last_seq != sa.replay_start {
        sa.seen = 0;
        sa.last_seq = seq;
        return true;
    }
    if seq > sa.last_seq {
        let diff = seq - sa.last_seq;
        sa.seen = if diff < window {
            (sa.seen << diff) | 1
        } else {
            1
        };
        sa.last_seq = seq;
        return true;
    }
    let diff = sa.last_seq - seq;
    if diff >= window || sa.seen & (1 << diff) != 0 {
        return false;
    }
    sa.seen |= 1 << diff;
    true
}

impl EspUnencap {
    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        let why = self.check(&p);
        if let Err(why) = why {
            cx.log(why);
            cx.kill(p);
            return None;
        }
        let d = p.data();
        let pad = usize::from(d[d.len() - 2]);
        p.pull(ESP_HEADER);
        p.take(pad + 2);
        Some(p)
    }

    fn check(&self, p: &Packet) -> Result<(), &'static str> {
        let d = p.data();
        if d.len() < ESP_HEADER + 2 {
            return Err("ESP packet too short");
        }
        let mut t = self.table.borrow_mut();
        let sa = sa_of(p)
            .and_then(|s| t.get_mut(&s))
            .ok_or("no security association for this packet")?;
        if !fresh(sa, u32::from_be_bytes([d[4], d[5], d[6], d[7]])) {
            return Err("replay protection: packet too old or already seen");
        }
        let body = &d[ESP_HEADER..];
        let pad = usize::from(body[body.len() - 2]);
        if pad + 2 > body.len() || (1..=pad).any(|i| body[body.len() - 2 - pad + i - 1] != i as u8)
        {
            return Err("corrupt ESP padding");
        }
        Ok(())
    }
}

impl Element for EspUnencap {
    simple_action!();

    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.table = upstream_table(cx)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::sa::Sa;
    use super::fresh;

    #[test]
    fn replay_window() {
        let mut sa = Sa {
            enc_key: [0; 16],
            auth_key: [0; 16],
            replay_start: 300,
            next_replay: 300,
            window: 4,
            seen: 0,
            last_seq: 0,
        };
        assert!(!fresh(&mut sa, 0));
        assert!(fresh(&mut sa, 300), "the start value");
        assert!(fresh(&mut sa, 303));
        assert!(fresh(&mut sa, 301), "late but in the window");
        assert!(!fresh(&mut sa, 301), "seen");
        assert!(!fresh(&mut sa, 299), "below the window");
        assert!(fresh(&mut sa, 310));
        assert!(!fresh(&mut sa, 303), "fell out of the window");
    }
}
