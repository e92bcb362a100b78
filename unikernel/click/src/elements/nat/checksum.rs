//! Internet checksum helpers, bit for bit as Click computes them.
//!
//! One's-complement sums do not depend on byte order, so everything here
//! works on big-endian 16-bit words read from the wire and gives the same
//! bytes as Click's native-order arithmetic.

/// RFC 1624 incremental update for one 16-bit word changing from `old` to
/// `new`: `~(~sum + ~old + new)` (Click's `click_update_in_cksum`).
#[inline]
pub fn update(sum: u16, old: u16, new: u16) -> u16 {
    let mut s = (!sum as u32) + (!old as u32) + new as u32;
    s = (s & 0xFFFF) + (s >> 16);
    !((s + (s >> 16)) as u16)
}

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

/// Sums `data` as big-endian words into a 32-bit accumulator (an odd last
/// byte is padded with zero).
pub fn add(mut acc: u32, data: &[u8]) -> u32 {
    let mut it = data.chunks_exact(2);
    for c in &mut it {
        acc = acc.wrapping_add(u16::from_be_bytes([c[0], c[1]]) as u32);
        if acc & 0x8000_0000 != 0 {
            acc = (acc & 0xFFFF) + (acc >> 16);
        }
    }
    if let [b] = it.remainder() {
        acc = acc.wrapping_add((*b as u32) << 8);
    }
    acc
}

/// Folds and complements an accumulator.
pub fn finish(mut acc: u32) -> u16 {
    acc = (acc & 0xFFFF) + (acc >> 16);
    acc += acc >> 16;
    !(acc as u16)
}

/// Click's `click_update_zero_in_cksum`: an incremental update may give
/// 0x0000 where a full sum over all-zero data gives 0xFFFF.
pub fn fix_zero(sum: u16, data: &[u8]) -> u16 {
    if sum == 0 && data.iter().all(|&b| b == 0) {
        0xFFFF
    } else {
        sum
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
