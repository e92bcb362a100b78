//! Durable changes: what a write-ahead log or snapshot records, and its byte form.
//!
//! Generation counts, watches and transactions are not recorded: they belong
//! to connections, which do not survive a restart.

use crate::wire::{split_list, PermList};
use alloc::string::String;
use alloc::vec::Vec;

/// One durable change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The node at `path` now has this value and these permissions.
    Put {
        /// Absolute path.
        path: String,
        /// Value bytes.
        value: Vec<u8>,
        /// Permissions.
        perms: PermList,
    },
    /// The node at `path` and its subtree are gone.
    Del {
        /// Absolute path.
        path: String,
    },
    /// A domain was introduced.
    Introduce {
        /// Domain id.
        domid: u32,
    },
    /// A domain was released.
    Release {
        /// Domain id.
        domid: u32,
    },
}

const PUT: u8 = 1;
const DEL: u8 = 2;
const INTRODUCE: u8 = 3;
const RELEASE: u8 = 4;

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

impl Change {
    /// Appends the record's bytes (little-endian lengths) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Change::Put { path, value, perms } => {
                out.push(PUT);
                put_bytes(out, path.as_bytes());
                put_bytes(out, value);
                put_bytes(out, &perms.to_payload());
            }
            Change::Del { path } => {
                out.push(DEL);
                put_bytes(out, path.as_bytes());
            }
            Change::Introduce { domid } => {
                out.push(INTRODUCE);
                out.extend_from_slice(&domid.to_le_bytes());
            }
            Change::Release { domid } => {
                out.push(RELEASE);
                out.extend_from_slice(&domid.to_le_bytes());
            }
        }
    }

    /// Decodes one record that fills `bytes` exactly; `None` if malformed.
    pub fn decode(bytes: &[u8]) -> Option<Change> {
        let mut r = Reader(bytes);
        let tag = r.take(1)?[0];
        let c = match tag {
            PUT => {
                let path = r.bytes()?;
                let value = r.bytes()?.to_vec();
                let perms = PermList::parse_list(split_list(r.bytes()?))?;
                let path = core::str::from_utf8(path).ok()?;
                crate::path::check(path).ok()?;
                if !path.starts_with('/') {
                    return None;
                }
                Change::Put {
                    path: String::from(path),
                    value,
                    perms,
                }
            }
            DEL => {
                let path = core::str::from_utf8(r.bytes()?).ok()?;
                crate::path::check(path).ok()?;
                Change::Del {
                    path: String::from(path),
                }
            }
            INTRODUCE => Change::Introduce { domid: r.u32()? },
            RELEASE => Change::Release { domid: r.u32()? },
            _ => return None,
        };
        if !r.0.is_empty() {
            return None;
        }
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Access;

    #[test]
    fn round_trip() {
        let cs = [
            Change::Put {
                path: "/a/b".into(),
                value: b"v\0x".to_vec(),
                perms: PermList::owned_by(3, Access::Read),
            },
            Change::Del { path: "/a".into() },
            Change::Introduce { domid: 4 },
            Change::Release { domid: 4 },
        ];
        for c in cs {
            let mut b = Vec::new();
            c.encode_into(&mut b);
            assert_eq!(Change::decode(&b), Some(c.clone()));
            assert_eq!(Change::decode(&b[..b.len() - 1]), None);
            b.push(0);
            assert_eq!(Change::decode(&b), None);
        }
        assert_eq!(Change::decode(&[9]), None);
    }
}
