//! Typed requests and replies.

use crate::wire::{join_strings, nul_terminated, split_list, MsgType, PermList};
use crate::{path, Errno};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// A request a client can send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// `READ path`.
    Read(&'a str),
    /// `WRITE path value`.
    Write(&'a str, &'a [u8]),
    /// `MKDIR path`.
    Mkdir(&'a str),
    /// `RM path`.
    Rm(&'a str),
    /// `DIRECTORY path`.
    Directory(&'a str),
    /// `DIRECTORY_PART path offset`.
    DirectoryPart(&'a str, u64),
    /// `GET_PERMS path`.
    GetPerms(&'a str),
    /// `SET_PERMS path perms...`.
    SetPerms(&'a str, &'a PermList),
    /// `WATCH path token`.
    Watch(&'a str, &'a [u8]),
    /// `UNWATCH path token`.
    Unwatch(&'a str, &'a [u8]),
    /// `TRANSACTION_START`.
    TransactionStart,
    /// `TRANSACTION_END T|F` (true commits).
    TransactionEnd(bool),
    /// `GET_DOMAIN_PATH domid`.
    GetDomainPath(u32),
    /// `IS_DOMAIN_INTRODUCED domid`.
    IsDomainIntroduced(u32),
    /// `INTRODUCE domid mfn evtchn` (dom0 only).
    Introduce {
        /// Domain id.
        domid: u32,
        /// Ring frame.
        mfn: u64,
        /// Event channel.
        evtchn: u32,
    },
    /// `RELEASE domid` (dom0 only).
    Release(u32),
    /// `RESET_WATCHES`.
    ResetWatches,
}

fn checked(p: &str) -> Result<&str, Errno> {
    path::check(p)?;
    Ok(p)
}

impl Request<'_> {
    /// The message type.
    pub fn msg_type(&self) -> MsgType {
        match self {
            Request::Read(_) => MsgType::Read,
            Request::Write(..) => MsgType::Write,
            Request::Mkdir(_) => MsgType::Mkdir,
            Request::Rm(_) => MsgType::Rm,
            Request::Directory(_) => MsgType::Directory,
            Request::DirectoryPart(..) => MsgType::DirectoryPart,
            Request::GetPerms(_) => MsgType::GetPerms,
            Request::SetPerms(..) => MsgType::SetPerms,
            Request::Watch(..) => MsgType::Watch,
            Request::Unwatch(..) => MsgType::Unwatch,
            Request::TransactionStart => MsgType::TransactionStart,
            Request::TransactionEnd(_) => MsgType::TransactionEnd,
            Request::GetDomainPath(_) => MsgType::GetDomainPath,
            Request::IsDomainIntroduced(_) => MsgType::IsDomainIntroduced,
            Request::Introduce { .. } => MsgType::Introduce,
            Request::Release(_) => MsgType::Release,
            Request::ResetWatches => MsgType::ResetWatches,
        }
    }

    /// The payload; paths are checked first (`EINVAL` for a bad one).
    pub fn payload(&self) -> Result<Vec<u8>, Errno> {
        Ok(match *self {
            Request::Read(p)
            | Request::Mkdir(p)
            | Request::Rm(p)
            | Request::Directory(p)
            | Request::GetPerms(p) => nul_terminated(checked(p)?),
            Request::Write(p, v) => {
                let mut out = nul_terminated(checked(p)?);
                out.extend_from_slice(v);
                out
            }
            Request::DirectoryPart(p, off) => join_strings(&[checked(p)?, &format!("{off}")]),
            Request::SetPerms(p, perms) => {
                let mut out = nul_terminated(checked(p)?);
                out.extend_from_slice(&perms.to_payload());
                out
            }
            Request::Watch(p, tok) | Request::Unwatch(p, tok) => {
                if tok.contains(&0) {
                    return Err(Errno::EINVAL);
                }
                join_strings(&[checked(p)?.as_bytes(), tok])
            }
            Request::TransactionStart | Request::ResetWatches => nul_terminated(""),
            Request::TransactionEnd(commit) => nul_terminated(if commit { "T" } else { "F" }),
            Request::GetDomainPath(d) | Request::IsDomainIntroduced(d) | Request::Release(d) => {
                nul_terminated(&format!("{d}"))
            }
            Request::Introduce { domid, mfn, evtchn } => {
                join_strings(&[format!("{domid}"), format!("{mfn}"), format!("{evtchn}")])
            }
        })
    }
}

/// A successful reply's payload, with typed views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply's type (the request's).
    pub ty: MsgType,
    /// Raw payload.
    pub payload: Vec<u8>,
}

impl Reply {
    /// The raw bytes (a `READ` value).
    pub fn bytes(&self) -> &[u8] {
        &self.payload
    }

    /// The payload as one NUL-terminated string (`GET_DOMAIN_PATH`, `TRANSACTION_START`).
    pub fn string(&self) -> Option<String> {
        let body = self.payload.strip_suffix(&[0]).unwrap_or(&self.payload);
        core::str::from_utf8(body).ok().map(String::from)
    }

    /// The payload as a list of strings (`DIRECTORY`).
    pub fn strings(&self) -> Option<Vec<String>> {
        split_list(&self.payload)
            .into_iter()
            .map(|s| core::str::from_utf8(s).ok().map(String::from))
            .collect()
    }

    /// The payload as a permission list (`GET_PERMS`).
    pub fn perms(&self) -> Option<PermList> {
        PermList::parse_list(split_list(&self.payload))
    }
}

/// A watch event: the path that changed (relative if the watch was) and the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    /// The path that fired.
    pub path: String,
    /// The watch's token.
    pub token: Vec<u8>,
}
