//! The ciphers Click's IPsec elements use, written for this engine:
//! AES-128 (FIPS-197) on single blocks, and HMAC-SHA1 (RFC 2104, FIPS
//! 180-4). Small and table-free rather than fast: the S-box is computed
//! once per key schedule from its definition.

/// The AES S-box, from its definition (the multiplicative inverse in
/// GF(2^8) followed by the affine map).
const fn sbox() -> [u8; 256] {
    let mut s = [0u8; 256];
    let mut x = 0usize;
    while x < 256 {
        // Inverse by exponentiation: x^254.
        let mut inv = 1u8;
        let mut base = x as u8;
        let mut e = 254u32;
        while e > 0 {
            if e & 1 == 1 {
                inv = gmul(inv, base);
            }
            base = gmul(base, base);
            e >>= 1;
        }
        if x == 0 {
            inv = 0;
        }
        let b = inv;
        s[x] = b ^ b.rotate_left(1) ^ b.rotate_left(2) ^ b.rotate_left(3) ^ b.rotate_left(4) ^ 0x63;
        x += 1;
    }
    s
}

const SBOX: [u8; 256] = sbox();

const fn inv_sbox() -> [u8; 256] {
    let mut s = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        s[SBOX[i] as usize] = i as u8;
        i += 1;
    }
    s
}

const INV_SBOX: [u8; 256] = inv_sbox();

/// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1.
const fn gmul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let hi = a & 0x80;
        a <<= 1;
        if hi != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

/// An expanded AES-128 key.
pub struct Aes128 {
    round_keys: [[u8; 16]; 11],
}

impl Aes128 {
    /// Expands `key`.
    pub fn new(key: &[u8; 16]) -> Self {
        let mut w = [[0u8; 4]; 44];
        for (i, word) in w.iter_mut().take(4).enumerate() {
            word.copy_from_slice(&key[4 * i..4 * i + 4]);
        }
        let mut rcon = 1u8;
        for i in 4..44 {
            let mut t = w[i - 1];
            if i % 4 == 0 {
                t = [
                    SBOX[t[1] as usize] ^ rcon,
                    SBOX[t[2] as usize],
                    SBOX[t[3] as usize],
                    SBOX[t[0] as usize],
                ];
                rcon = gmul(rcon, 2);
            }
            for j in 0..4 {
                w[i][j] = w[i - 4][j] ^ t[j];
            }
        }
        let mut round_keys = [[0u8; 16]; 11];
        for (r, k) in round_keys.iter_mut().enumerate() {
            for c in 0..4 {
                k[4 * c..4 * c + 4].copy_from_slice(&w[4 * r + c]);
            }
        }
        Aes128 { round_keys }
    }

    fn add_round_key(s: &mut [u8; 16], k: &[u8; 16]) {
        for (a, b) in s.iter_mut().zip(k) {
            *a ^= b;
        }
    }

    /// Encrypts one block in place.
    pub fn encrypt(&self, s: &mut [u8; 16]) {
        Self::add_round_key(s, &self.round_keys[0]);
        for r in 1..11 {
            for b in s.iter_mut() {
                *b = SBOX[*b as usize];
            }
            shift_rows(s, false);
            if r < 10 {
                mix_columns(s, false);
            }
            Self::add_round_key(s, &self.round_keys[r]);
        }
    }

    /// Decrypts one block in place.
    pub fn decrypt(&self, s: &mut [u8; 16]) {
        Self::add_round_key(s, &self.round_keys[10]);
        for r in (0..10).rev() {
            shift_rows(s, true);
            for b in s.iter_mut() {
                *b = INV_SBOX[*b as usize];
            }
            Self::add_round_key(s, &self.round_keys[r]);
            if r > 0 {
                mix_columns(s, true);
            }
        }
    }
}

/// Row `r` of the column-major state shifts left by `r` (right to undo).
fn shift_rows(s: &mut [u8; 16], inverse: bool) {
    let t = *s;
    for r in 1..4 {
        for c in 0..4 {
            let from = if inverse {
                (c + 4 - r) % 4
            } else {
                (c + r) % 4
            };
            s[4 * c + r] = t[4 * from + r];
        }
    }
}

fn mix_columns(s: &mut [u8; 16], inverse: bool) {
    let m: [u8; 4] = if inverse {
        [14, 11, 13, 9]
    } else {
        [2, 3, 1, 1]
    };
    for c in 0..4 {
        let col = [s[4 * c], s[4 * c + 1], s[4 * c + 2], s[4 * c + 3]];
        for r in 0..4 {
            s[4 * c + r] = (0..4).fold(0, |acc, k| acc ^ gmul(m[(k + 4 - r) % 4], col[k]));
        }
    }
}

/// SHA-1 of `parts` concatenated.
pub fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut block = [0u8; 64];
    let mut fill = 0;
    let compress = |block: &[u8; 64], h: &mut [u32; 5]| {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = *h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    };
    let bits = (total as u64).wrapping_mul(8).to_be_bytes();
    let pad_len = if total % 64 < 56 {
        56 - total % 64
    } else {
        120 - total % 64
    };
    let mut padding = [0u8; 72];
    padding[0] = 0x80;
    padding[pad_len..pad_len + 8].copy_from_slice(&bits);
    for &byte in parts
        .iter()
        .flat_map(|p| p.iter())
        .chain(&padding[..pad_len + 8])
    {
        block[fill] = byte;
        fill += 1;
        if fill == 64 {
            compress(&block, &mut h);
            fill = 0;
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// HMAC-SHA1 of `data` under `key` (at most 64 bytes, as IPsec's are).
pub fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..20].copy_from_slice(&sha1(&[key]));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad = k.map(|b| b ^ 0x36);
    let opad = k.map(|b| b ^ 0x5c);
    let inner = sha1(&[&ipad, data]);
    sha1(&[&opad, &inner])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> alloc::vec::Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn aes128_fips197_vectors() {
        let key: [u8; 16] = hex("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
        let mut b: [u8; 16] = hex("00112233445566778899aabbccddeeff").try_into().unwrap();
        let a = Aes128::new(&key);
        a.encrypt(&mut b);
        assert_eq!(b.to_vec(), hex("69c4e0d86a7b0430d8cdb78070b4c55a"));
        a.decrypt(&mut b);
        assert_eq!(b.to_vec(), hex("00112233445566778899aabbccddeeff"));
        // FIPS-197 appendix B.
        let key: [u8; 16] = hex("2b7e151628aed2a6abf7158809cf4f3c").try_into().unwrap();
        let mut b: [u8; 16] = hex("3243f6a8885a308d313198a2e0370734").try_into().unwrap();
        Aes128::new(&key).encrypt(&mut b);
        assert_eq!(b.to_vec(), hex("3925841d02dc09fbdc118597196a0b32"));
    }

    #[test]
    fn sha1_and_hmac_vectors() {
        assert_eq!(
            sha1(&[b"abc"]).to_vec(),
            hex("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            sha1(&[b""]).to_vec(),
            hex("da39a3ee5e6b4b0d3255bfef95601890afd80709")
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            sha1(&[&long[..10], &long[10..]]).to_vec(),
            hex("84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        );
        // RFC 2202 test cases 1 and 2.
        assert_eq!(
            hmac_sha1(&[0x0b; 20], b"Hi There").to_vec(),
            hex("b617318655057264e28bc0b6fb378c8ef146be00")
        );
        assert_eq!(
            hmac_sha1(b"Jefe", b"what do ya want for nothing?").to_vec(),
            hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        );
    }
}
