//! `IPsecAuthHMACSHA1(VERIFY)`: appends (VERIFY 0) or checks and removes (VERIFY 1) an ESP packet's HMAC-SHA1-96 digest.
//!
//! # Ports
//! One input; one or two outputs. Input and output 0 agnostic, output 1
//! push.
//!
//! # Processing
//! For ESP packets (from the ESP header on) carrying their association
//! in an annotation. With `VERIFY` 0 it computes HMAC-SHA1 over the
//! whole packet with the association's authentication key and appends
//! its first 12 bytes (RFC 2404). With `VERIFY` 1 it computes the digest
//! of all but the last 12 bytes and compares: on a match the 12 bytes
//! are removed and the packet goes on; otherwise it is counted and goes
//! to output 1, or is dropped if there is none (the first failure is
//! reported). Packets without an association, or shorter than a digest,
//! are dropped.
//!
//! # Keywords
//! * `VERIFY` (0 or 1): compute, or verify.
//!
//! # Handlers
//! * `drops` (read): packets that failed verification.
//!
//! # Example
//! ```text
//! IPsecESPEncap -> IPsecAuthHMACSHA1(0) -> IPsecAES(1) -> ...
//! ```

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use core::cell::RefCell;

use super::crypto::hmac_sha1;
use super::sa::{sa_of, upstream_table, SaTable};
use crate::element::{simple_action, Element, ElementClass, HandlerDecl};
use crate::error::ConfigError;
use crate::packet::Packet;
use crate::router::Ctx;

/// The `IPsecAuthHMACSHA1` class.
pub static CLASS: ElementClass = ElementClass {
    name: "IPsecAuthHMACSHA1",
    ports: "1/1-2",
    processing: "a/ah",
    phase: 0,
    make: |args, _cx| {
        let verify = match args.required::<u8>("VERIFY")? {
            0 => false,
            1 => true,
            _ => return Err(ConfigError::out_of_range("VERIFY must be 0 or 1")),
        };
        Ok(Box::new(AuthHmacSha1 {
            verify,
            table: Rc::new(RefCell::new(BTreeMap::new())),
            drops: 0,
        }))
    },
};

/// The digest's length on the wire.
pub const DIGEST: usize = 12;

/// The authenticator.
pub struct AuthHmacSha1 {
    verify: bool,
    table: SaTable,
    drops: u64,
}

impl AuthHmacSha1 {
    fn action(&mut self, cx: &Ctx, mut p: Packet) -> Option<Packet> {
        let key = sa_of(&p).and_then(|s| self.table.borrow().get(&s).map(|sa| sa.auth_key));
        let Some(key) = key else {
            cx.log("no security association for this packet");
            cx.kill(p);
            return None;
        };
        if !self.verify {
            let digest = hmac_sha1(&key, p.data());
            let len = p.len();
            p.put(DIGEST);
            p.data_mut()[len..].copy_from_slice(&digest[..DIGEST]);
            return Some(p);
        }
        let Some(body_len) = p.len().checked_sub(DIGEST) else {
            cx.kill(p);
            return None;
        };
        let digest = hmac_sha1(&key, &p.data()[..body_len]);
        if p.data()[body_len..] != digest[..DIGEST] {
            if self.drops == 0 {
                cx.log("invalid SHA1 authentication digest");
            }
            self.drops += 1;
            cx.push(1, p);
            return None;
        }
        p.take(DIGEST);
        Some(p)
    }
}

impl Element for AuthHmacSha1 {
    simple_action!();

    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        self.table = upstream_table(cx)?;
        Ok(())
    }

    fn handlers(&self) -> &'static [HandlerDecl] {
        const H: &[HandlerDecl] = &[HandlerDecl::read("drops")];
        H
    }

    fn read_handler(&self, _cx: &Ctx, _name: &str) -> String {
        self.drops.to_string()
    }
}
