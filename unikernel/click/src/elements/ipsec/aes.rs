//! `IPsecAES(ENCRYPT)`: encrypts (ENCRYPT 1) or decrypts (ENCRYPT 0) an ESP packet's payload with AES-128 in Click's CBC variant.
//!
//! # Ports
//! One input, one output; agnostic.
//!
//! # Processing
//! For ESP packets (from the ESP header on, a 12-byte digest at the end)
//! carrying their association in an annotation. The bytes after the
//! 16-byte ESP header and before the digest (a multiple of 8, as
//! `IPsecESPEncap` pads them; when not a multiple of 16 the first 8
//! digest bytes are taken in too) are processed in 16-byte blocks with
//! the association's AES-128 key, chained as Click 2.1 chains them: the
//! first 8 bytes of each block are XORed, before encryption (after
//! decryption), with the header's IV for the first block and with the
//! first 8 bytes of the previous ciphertext block after that. This is
//! not RFC 3602's AES-CBC: it works with Click's IPsec elements at both
//! ends of a tunnel. Packets without an association, or too short for
//! their blocks, are dropped with a message.
//!
//! # Keywords
//! * `ENCRYPT` (0 or 1): decrypt, or encrypt.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! IPsecAuthHMACSHA1(0) -> IPsecAES(1) -> IPsecEncap(50) -> ...
//! ```

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use core::cell::RefCell;

use super::authhmacsha1::DIGEST;
use super::crypto::Aes128;
use super::espencap::ESP_HEADER;
use super::sa::{sa_of, upstream_table, SaTable};
use crate::element::{simple_action, Element, ElementClass};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `IPsecAES` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPsecAES",
    ports: "1/1",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let encrypt = match args.required::<u8>("ENCRYPT")? {
            0 => false,
            1 => true,
            _ => return Err(ConfigError::out_of_range("ENCRYPT must be 0 or 1")),
        };
        Ok(Box::new(IpsecAes {
            encrypt,
            table: Rc::new(RefCell::new(BTreeMap::new())),
        }))
    },
};

/// The cipher element.
pub struct IpsecAes {
    encrypt: bool,
    table: SaTable,
}

/// Runs Click's chaining over `d` (an ESP packet); false if too short.
pub fn crypt(d: &mut [u8], aes: &Aes128, encrypt: bool) -> bool {
    let Some(mut len) = d.len().checked_sub(ESP_HEADER + DIGEST) else {
        return false;
    };
    if len % 16 != 0 {
        len += 8;
    }
    if len % 16 != 0 || ESP_HEADER + len > d.len() {
        return false;
    }
    let (head, body) = d.split_at_mut(ESP_HEADER);
    let mut chain = [0u8; 8];
    chain.copy_from_slice(&head[8..16]);
    for block in body[..len].chunks_exact_mut(16) {
        let b: &mut [u8; 16] = block.try_into().expect("16-byte chunk");
        if encrypt {
            for (x, c) in b.iter_mut().zip(chain) {
                *x ^= c;
            }
            aes.encrypt(b);
            chain.copy_from_slice(&b[..8]);
        } else {
            let mut next = [0u8; 8];
            next.copy_from_slice(&b[..8]);
            aes.decrypt(b);
            for (x, c) in b.iter_mut().zip(chain) {
                *x ^= c;
            }
            chain = next;
        }
    }
    true
}

impl IpsecAes {
    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        let key = sa_of(&p).and_then(|s| self.table.borrow().get(&s).map(|sa| sa.enc_key));
        let done = key.is_some_and(|k| crypt(p.data_mut(), &Aes128::new(&k), self.encrypt));
        if !done {
            cx.log("no security association, or not a whole ESP packet");
            cx.kill(p);
            return None;
        }
        Some(p)
    }
}

impl Element for IpsecAes {
    simple_action!();

    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.table = upstream_table(cx)?;
        Ok(())
    }
}
