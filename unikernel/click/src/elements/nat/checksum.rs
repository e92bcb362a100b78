//! Checksum helpers of the rewriters: Click's per-mapping delta
//! application and word access, on top of [`crate::net::checksum`]
//! (re-exported here for the rewriter code).

pub use crate::net::checksum::{add, finish, fix_zero, update};

/// Applies a precomputed mapping delta the way Click's
/// `IPRewriterFlow::update_csum` does: the forward direction adds the
/// complement of the delta, the reply direction the delta itself; a zero
/// delta leaves the sum alone.
#[inline]
pub fn apply_delta(sum: u16, reply: bool, delta: u16) -> u16 {
    if delta == 0 {
        sum
    } else {
        update(sum, 0, if reply { delta } else { !delta })
    }
}

/// Reads the big-endian word at `off`.
#[inline]
pub fn word(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}

/// Writes the big-endian word `v` at `off`.
#[inline]
pub fn set_word(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_equals_full() {
        let mut h = [
            0x45u8, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, 0x40, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let c = finish(add(0, &h));
        set_word(&mut h, 10, c);
        assert_eq!(finish(add(0, &h)), 0);
        let old = word(&h, 12);
        h[12] = 1;
        let n = update(c, old, word(&h, 12));
        set_word(&mut h, 10, n);
        assert_eq!(finish(add(0, &h)), 0);
    }

    #[test]
    fn delta_forward_then_reply_restores() {
        let d = update(0, 0x0a00, 0x0102);
        let s = apply_delta(0x1234, false, d);
        assert_eq!(apply_delta(s, true, d), 0x1234);
        assert_eq!(apply_delta(0x1234, false, 0), 0x1234);
        assert_eq!(fix_zero(0, &[0, 0]), 0xFFFF);
        assert_eq!(fix_zero(0, &[0, 1]), 0);
    }
}
