//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624),
//! bit-for-bit as Click computes them.
//!
//! One's-complement sums do not depend on byte order, so everything here
//! works on big-endian 16-bit words read from the wire.

/// Adds `data` as big-endian 16-bit words to the running 32-bit sum `acc`
/// (an odd last byte is padded with zero, as the RFC says).
pub fn add(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u16::from_be_bytes([c[0], c[1]]) as u32);
        // Fold early so very long inputs cannot overflow.
        if acc & 0x8000_0000 != 0 {
            acc = (acc & 0xFFFF) + (acc >> 16);
        }
    }
    if let [b] = chunks.remainder() {
        acc = acc.wrapping_add((*b as u32) << 8);
    }
    acc
}

/// Folds a running sum to 16 bits and complements it.
pub fn finish(mut acc: u32) -> u16 {
    acc = (acc & 0xFFFF) + (acc >> 16);
    acc += acc >> 16;
    !(acc as u16)
}

/// The Internet checksum of `data` (0 when `data` holds a correct checksum).
pub fn checksum(data: &[u8]) -> u16 {
    finish(add(0, data))
}

/// Updates checksum `sum` for one 16-bit word changing from `old` to `new`
/// (RFC 1624 eqn. 3: `~(~sum + ~old + new)`, Click's
/// `click_update_in_cksum`).
pub fn update(sum: u16, old: u16, new: u16) -> u16 {
    let mut s = (!sum as u32) + (!old as u32) + new as u32;
    s = (s & 0xFFFF) + (s >> 16);
    !((s + (s >> 16)) as u16)
}

/// Updates checksum `sum` for a 32-bit value (an address) changing.
pub fn update32(sum: u16, old: [u8; 4], new: [u8; 4]) -> u16 {
    let s = update(
        sum,
        u16::from_be_bytes([old[0], old[1]]),
        u16::from_be_bytes([new[0], new[1]]),
    );
    update(
        s,
        u16::from_be_bytes([old[2], old[3]]),
        u16::from_be_bytes([new[2], new[3]]),
    )
}

/// The IP header checksum after the TTL drops by one: Click's DecIPTTL
/// shortcut `~(~sum + 0xFEFF)` (RFC 1141 as corrected by RFC 1624).
pub fn dec_ttl(sum: u16) -> u16 {
    let s = (!sum as u32) + 0xFEFF;
    !((s + (s >> 16)) as u16)
}

/// Click's `click_update_zero_in_cksum`: an incremental update can yield
/// 0x0000 where a full computation over all-zero data gives 0xFFFF.
pub fn fix_zero(sum: u16, data: &[u8]) -> u16 {
    if sum == 0 && data.iter().all(|&b| b == 0) {
        0xFFFF
    } else {
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 sample data: sum 0xddf2, checksum 0x220d.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&d), 0x220d);
        assert_eq!(checksum(&[0xff]), !0xff00);
    }

    #[test]
    fn incremental_matches_full_recompute() {
        let mut h = [
            0x45u8, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, 0x40, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let c = checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&h), 0);
        let old = u16::from_be_bytes([h[8], h[9]]);
        h[8] = 0x3f;
        let new = u16::from_be_bytes([h[8], h[9]]);
        let u = update(c, old, new);
        assert_eq!(u, dec_ttl(c));
        h[10..12].copy_from_slice(&u.to_be_bytes());
        assert_eq!(checksum(&h), 0);
    }

    #[test]
    fn dec_ttl_edges() {
        // ~(~0x0000 + 0xFEFF) and ~(~0xFFFF + 0xFEFF) both give 0x0100.
        assert_eq!(dec_ttl(0x0000), 0x0100);
        assert_eq!(dec_ttl(0xFFFF), 0x0100);
        assert_eq!(dec_ttl(0xFEFF), 0x0000);
        assert_eq!(dec_ttl(0x0100), 0x0200);
    }

    #[test]
    fn fix_zero_only_for_zero_data() {
        assert_eq!(fix_zero(0, &[0, 0, 0]), 0xFFFF);
        assert_eq!(fix_zero(0, &[0, 1]), 0);
        assert_eq!(fix_zero(5, &[0, 0]), 5);
    }
}
