//! The xs_wire framing: a 16-byte header and at most 4096 payload bytes.
//!
//! Identical over unix sockets, the xenbus device and the shared ring.

mod codec;
mod payload;
mod perms;

pub use codec::{FrameDecoder, WireError};
pub use payload::{join_strings, nul_terminated, split_args, split_list};
pub use perms::{Access, Perm, PermList};

use alloc::vec::Vec;

/// Size of the message header in bytes.
pub const HEADER_LEN: usize = 16;
/// Largest payload allowed in either direction (`XENSTORE_PAYLOAD_MAX`).
pub const PAYLOAD_MAX: usize = 4096;
/// Longest absolute path (`XENSTORE_ABS_PATH_MAX`).
pub const ABS_PATH_MAX: usize = 3072;
/// Longest relative path (`XENSTORE_REL_PATH_MAX`).
pub const REL_PATH_MAX: usize = 2048;

/// A message type (`enum xsd_sockmsg_type` of Xen 4.17).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsgType {
    /// Daemon-specific commands (old name DEBUG).
    Control,
    /// List a node's children.
    Directory,
    /// Read a node's value.
    Read,
    /// Read a node's permissions.
    GetPerms,
    /// Register a watch.
    Watch,
    /// Remove a watch.
    Unwatch,
    /// Start a transaction.
    TransactionStart,
    /// Commit or abort a transaction.
    TransactionEnd,
    /// Introduce a domain (dom0 only).
    Introduce,
    /// Release a domain (dom0 only).
    Release,
    /// Ask for a domain's home path.
    GetDomainPath,
    /// Write a node's value.
    Write,
    /// Create a node.
    Mkdir,
    /// Remove a subtree.
    Rm,
    /// Replace a node's permissions.
    SetPerms,
    /// A watch fired (server to client only).
    WatchEvent,
    /// An error reply.
    Error,
    /// Ask whether a domain is introduced.
    IsDomainIntroduced,
    /// Resume a domain (dom0 only).
    Resume,
    /// Let a domain act for a target domain.
    SetTarget,
    /// Drop all watches and transactions of this connection.
    ResetWatches,
    /// List a node's children in chunks.
    DirectoryPart,
    /// `XS_INVALID` (0xffff).
    Invalid,
    /// Any other number (including the removed XS_RESTRICT, 20).
    Unknown(u32),
}

impl From<u32> for MsgType {
    fn from(v: u32) -> Self {
        match v {
            0 => MsgType::Control,
            1 => MsgType::Directory,
            2 => MsgType::Read,
            3 => MsgType::GetPerms,
            4 => MsgType::Watch,
            5 => MsgType::Unwatch,
            6 => MsgType::TransactionStart,
            7 => MsgType::TransactionEnd,
            8 => MsgType::Introduce,
            9 => MsgType::Release,
            10 => MsgType::GetDomainPath,
            11 => MsgType::Write,
            12 => MsgType::Mkdir,
            13 => MsgType::Rm,
            14 => MsgType::SetPerms,
            15 => MsgType::WatchEvent,
            16 => MsgType::Error,
            17 => MsgType::IsDomainIntroduced,
            18 => MsgType::Resume,
            19 => MsgType::SetTarget,
            21 => MsgType::ResetWatches,
            22 => MsgType::DirectoryPart,
            0xffff => MsgType::Invalid,
            other => MsgType::Unknown(other),
        }
    }
}

impl From<MsgType> for u32 {
    fn from(t: MsgType) -> u32 {
        match t {
            MsgType::Control => 0,
            MsgType::Directory => 1,
            MsgType::Read => 2,
            MsgType::GetPerms => 3,
            MsgType::Watch => 4,
            MsgType::Unwatch => 5,
            MsgType::TransactionStart => 6,
            MsgType::TransactionEnd => 7,
            MsgType::Introduce => 8,
            MsgType::Release => 9,
            MsgType::GetDomainPath => 10,
            MsgType::Write => 11,
            MsgType::Mkdir => 12,
            MsgType::Rm => 13,
            MsgType::SetPerms => 14,
            MsgType::WatchEvent => 15,
            MsgType::Error => 16,
            MsgType::IsDomainIntroduced => 17,
            MsgType::Resume => 18,
            MsgType::SetTarget => 19,
            MsgType::ResetWatches => 21,
            MsgType::DirectoryPart => 22,
            MsgType::Invalid => 0xffff,
            MsgType::Unknown(v) => v,
        }
    }
}

/// The fixed 16-byte header (`struct xsd_sockmsg`), in host byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Message type.
    pub ty: MsgType,
    /// Request id chosen by the client, echoed in the reply.
    pub req_id: u32,
    /// Transaction id, or 0.
    pub tx_id: u32,
    /// Payload length.
    pub len: u32,
}

impl Header {
    /// Decodes a header; any 16 bytes are a header (the length is checked by the caller).
    pub fn decode(b: &[u8; HEADER_LEN]) -> Header {
        let word = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Header {
            ty: MsgType::from(word(0)),
            req_id: word(4),
            tx_id: word(8),
            len: word(12),
        }
    }

    /// Encodes the header in host byte order.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&u32::from(self.ty).to_ne_bytes());
        out[4..8].copy_from_slice(&self.req_id.to_ne_bytes());
        out[8..12].copy_from_slice(&self.tx_id.to_ne_bytes());
        out[12..16].copy_from_slice(&self.len.to_ne_bytes());
        out
    }
}

/// One whole message: header fields plus payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Message type.
    pub ty: MsgType,
    /// Request id.
    pub req_id: u32,
    /// Transaction id, or 0.
    pub tx_id: u32,
    /// Payload bytes (at most [`PAYLOAD_MAX`] for a valid message).
    pub payload: Vec<u8>,
}

impl Message {
    /// Builds a message.
    pub fn new(ty: MsgType, req_id: u32, tx_id: u32, payload: Vec<u8>) -> Message {
        Message {
            ty,
            req_id,
            tx_id,
            payload,
        }
    }

    /// An `ERROR` reply to `req` carrying `errno`.
    pub fn error(req_id: u32, tx_id: u32, errno: crate::Errno) -> Message {
        Message::new(MsgType::Error, req_id, tx_id, nul_terminated(errno.name()))
    }

    /// A successful reply of type `ty` carrying `"OK\0"`.
    pub fn ok(ty: MsgType, req_id: u32, tx_id: u32) -> Message {
        Message::new(ty, req_id, tx_id, nul_terminated("OK"))
    }

    /// The header describing this message.
    pub fn header(&self) -> Header {
        Header {
            ty: self.ty,
            req_id: self.req_id,
            tx_id: self.tx_id,
            len: self.payload.len() as u32,
        }
    }

    /// Appends the encoded message to `out`; fails if the payload is too long.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        if self.payload.len() > PAYLOAD_MAX {
            return Err(WireError::TooLong(self.payload.len()));
        }
        out.extend_from_slice(&self.header().encode());
        out.extend_from_slice(&self.payload);
        Ok(())
    }

    /// The encoded message; fails if the payload is too long.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let mut v = Vec::with_capacity(HEADER_LEN + self.payload.len());
        self.encode_into(&mut v)?;
        Ok(v)
    }

    /// For an `ERROR` message, the errno it carries (unknown names map to `EIO`).
    pub fn errno(&self) -> Option<crate::Errno> {
        if self.ty != MsgType::Error {
            return None;
        }
        let name = self.payload.split(|&b| b == 0).next().unwrap_or(&[]);
        Some(
            core::str::from_utf8(name)
                .ok()
                .and_then(crate::Errno::from_name)
                .unwrap_or(crate::Errno::EIO),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_type_numbers_round_trip() {
        for v in 0..30u32 {
            assert_eq!(u32::from(MsgType::from(v)), v);
        }
        assert_eq!(MsgType::from(22), MsgType::DirectoryPart);
        assert_eq!(MsgType::from(20), MsgType::Unknown(20));
        assert_eq!(u32::from(MsgType::Invalid), 0xffff);
    }

    #[test]
    fn header_is_host_order() {
        let h = Header {
            ty: MsgType::Write,
            req_id: 0x01020304,
            tx_id: 7,
            len: 5,
        };
        let b = h.encode();
        assert_eq!(&b[0..4], &11u32.to_ne_bytes());
        assert_eq!(Header::decode(&b), h);
    }

    #[test]
    fn error_message_carries_name() {
        let m = Message::error(3, 0, crate::Errno::ENOENT);
        assert_eq!(m.payload, b"ENOENT\0");
        assert_eq!(m.errno(), Some(crate::Errno::ENOENT));
        assert_eq!(Message::ok(MsgType::Write, 1, 0).errno(), None);
    }

    #[test]
    fn oversized_payload_is_refused() {
        let m = Message::new(MsgType::Write, 1, 0, alloc::vec![b'x'; PAYLOAD_MAX + 1]);
        assert_eq!(m.encode(), Err(WireError::TooLong(PAYLOAD_MAX + 1)));
    }
}
