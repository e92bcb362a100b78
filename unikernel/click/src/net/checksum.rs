//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624),
//! bit-for-bit as Click computes them.
//!
//! One's-complement sums do not depend on byte order, so everything here
//! works on big-endian 16-bit words read from the wire.

/// Adds `data` as big-endian 16-bit words to the running 32-bit sum `acc`
/// (an odd last byte is padded with zero, as the RFC says). The result is
/// equal to the plain word-by-word sum modulo 0xFFFF, which is all
/// [`finish`] needs.
#[inline]
pub fn add(acc: u32, data: &[u8]) -> u32 {
    let t = acc as u64 + sum(data) as u64;
    ((t & 0xFFFF_FFFF) + (t >> 32)) as u32
}

/// The ones'-complement sum of `data` as big-endian 16-bit words, folded
/// to 16 bits (not complemented).
///
/// Reads native-endian 32-bit words into a 64-bit accumulator: the sum
/// of byte-swapped words is the byte-swapped sum, so one swap at the end
/// gives the big-endian result, and 2^32 words cannot overflow.
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    let mut s: u64 = 0;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        s += u32::from_ne_bytes([w[0], w[1], w[2], w[3]]) as u64;
    }
    // Zero padding to a whole word adds nothing.
    s += match *words.remainder() {
        [a] => u32::from_ne_bytes([a, 0, 0, 0]),
        [a, b] => u32::from_ne_bytes([a, b, 0, 0]),
        [a, b, c] => u32::from_ne_bytes([a, b, c, 0]),
        _ => 0,
    } as u64;
    fold(s)
}

/// [`sum`] of an IPv4 header without options: five words, no loop.
#[inline(always)]
pub fn sum20(h: &[u8; 20]) -> u16 {
    let w = |i: usize| u32::from_ne_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]) as u64;
    let s = w(0) + w(4) + w(8) + w(12) + w(16);
    // Below 2^35: three 16-bit folds leave at most 0xFFFF.
    let s = (s & 0xFFFF) + (s >> 16);
    let s = (s & 0xFFFF) + (s >> 16);
    let s = (s & 0xFFFF) + (s >> 16);
    u16::from_be_bytes((s as u16).to_ne_bytes())
}

/// Folds a 64-bit sum of native-endian words to the big-endian 16-bit
/// ones'-complement sum.
#[inline]
fn fold(s: u64) -> u16 {
    let s = (s & 0xFFFF_FFFF) + (s >> 32);
    let s = (s & 0xFFFF_FFFF) + (s >> 32);
    let s = (s & 0xFFFF) + (s >> 16);
    let s = (s & 0xFFFF) + (s >> 16);
    let s = (s & 0xFFFF) + (s >> 16);
    u16::from_be_bytes((s as u16).to_ne_bytes())
}

/// Folds a running sum to 16 bits and complements it.
#[inline]
pub fn finish(mut acc: u32) -> u16 {
    acc = (acc & 0xFFFF) + (acc >> 16);
    acc += acc >> 16;
    !(acc as u16)
}

/// The Internet checksum of `data` (0 when `data` holds a correct checksum).
#[inline]
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

    /// The RFC's word-by-word sum, for comparison.
    fn reference(mut acc: u32, data: &[u8]) -> u32 {
        let mut chunks = data.chunks_exact(2);
        for c in &mut chunks {
            acc = acc.wrapping_add(u16::from_be_bytes([c[0], c[1]]) as u32);
            if acc & 0x8000_0000 != 0 {
                acc = (acc & 0xFFFF) + (acc >> 16);
            }
        }
        if let [b] = chunks.remainder() {
            acc = acc.wrapping_add((*b as u32) << 8);
        }
        acc
    }

    #[test]
    fn word_sum_agrees_with_reference_on_random_data() {
        let mut seed = 0x0123_4567_89ab_cdefu64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..5000 {
            let len = (rnd() % 80) as usize;
            // Mostly random bytes; some all-0 / all-0xff (the sums' edge cases).
            let fill = rnd() % 4;
            let data: alloc::vec::Vec<u8> = (0..len)
                .map(|_| match fill {
                    0 => 0,
                    1 => 0xff,
                    _ => rnd() as u8,
                })
                .collect();
            let acc = match round % 3 {
                0 => 0,
                1 => 0xFFFF,
                _ => rnd() as u32,
            };
            assert_eq!(
                finish(add(acc, &data)),
                finish(reference(acc, &data)),
                "{data:?} acc {acc:#x}"
            );
            assert_eq!(checksum(&data), finish(reference(0, &data)));
            if let Some(h) = data.first_chunk::<20>() {
                assert_eq!(!sum20(h), finish(reference(0, h)));
            }
        }
    }

    #[test]
    fn random_ip_headers_verify() {
        let mut seed = 0xfeed_f00d_dead_beefu64;
        for _ in 0..2000 {
            let mut h = [0u8; 24];
            for b in h.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            let hl = if seed & 1 == 0 { 20 } else { 24 };
            h[10] = 0;
            h[11] = 0;
            let c = finish(reference(0, &h[..hl]));
            h[10..12].copy_from_slice(&c.to_be_bytes());
            assert_eq!(checksum(&h[..hl]), 0);
            h[(seed % hl as u64) as usize] ^= 0x10;
            assert_ne!(checksum(&h[..hl]), 0);
        }
    }

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
