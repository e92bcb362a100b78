//! Payload layouts: strings placed one after another, each ending in NUL.

use alloc::vec::Vec;

/// `s` followed by a NUL byte.
pub fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    v
}

/// Each string followed by a NUL byte, concatenated.
pub fn join_strings<S: AsRef<[u8]>>(parts: &[S]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in parts {
        v.extend_from_slice(p.as_ref());
        v.push(0);
    }
    v
}

/// Splits a payload of exactly `n` NUL-terminated strings.
///
/// The last NUL may be missing (some clients omit it); a payload with more or
/// fewer strings gives `None`.
pub fn split_args(payload: &[u8], n: usize) -> Option<Vec<&[u8]>> {
    let body = payload.strip_suffix(&[0]).unwrap_or(payload);
    let parts: Vec<&[u8]> = body.split(|&b| b == 0).collect();
    if parts.len() == n {
        Some(parts)
    } else {
        None
    }
}

/// Splits a list reply (`a\0b\0...`) into its entries; an empty payload is an empty list.
pub fn split_list(payload: &[u8]) -> Vec<&[u8]> {
    let body = match payload.strip_suffix(&[0]) {
        Some(b) => b,
        None if payload.is_empty() => return Vec::new(),
        None => payload,
    };
    body.split(|&b| b == 0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn args_and_lists() {
        assert_eq!(split_args(b"/a\0tok\0", 2), Some(vec![&b"/a"[..], b"tok"]));
        assert_eq!(split_args(b"/a\0tok", 2), Some(vec![&b"/a"[..], b"tok"]));
        assert_eq!(split_args(b"/a\0", 2), None);
        assert_eq!(split_args(b"", 1), Some(vec![&b""[..]]));
        assert_eq!(split_list(b""), Vec::<&[u8]>::new());
        assert_eq!(split_list(b"a\0b\0"), vec![&b"a"[..], b"b"]);
        assert_eq!(join_strings(&["a", "bc"]), b"a\0bc\0");
    }
}
