//! Requests from `mbctl` commands to the agent, over `agent.sock` in the
//! run directory: one request per connection, each message a little-endian
//! u32 length and its postcard encoding.

use crate::error::{Context, Error, Result};
use mb_vm::bail;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// Largest message accepted (a config is at most a few hundred KiB).
pub const MESSAGE_MAX: usize = 16 << 20;

/// Guest memory when a boot does not say.
pub const DEFAULT_MEMORY: &str = "16M";

/// How long a boot waits for the router when it does not say.
pub const BOOT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// What `mbctl boot` asks for.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BootRequest {
    /// Middlebox name.
    pub name: String,
    /// The config text.
    pub config: String,
    /// The file it came from (as given).
    pub config_file: String,
    /// Its label in the store (`config_name`).
    pub config_name: String,
    /// `--nic` specs.
    pub nics: Vec<String>,
    /// Guest memory.
    pub memory: String,
    /// Guest image path (absolute).
    pub image: String,
    /// `auto`, `kvm` or `tcg`.
    pub accel: String,
    /// `qemu` or `xl`.
    pub backend: String,
    /// How long to wait for the router, in milliseconds.
    pub timeout_ms: u64,
    /// The command's `OVS_RUNDIR` (a private Open vSwitch), if set.
    pub ovs_rundir: Option<String>,
}

/// A request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Request {
    /// Is the agent there?
    Ping,
    /// Boot a middlebox.
    Boot(Box<BootRequest>),
    /// Stop one gracefully (`Halted`, then power-off), waiting this long.
    Stop {
        /// Its name.
        name: String,
        /// Milliseconds to wait before destroying it.
        timeout_ms: u64,
    },
    /// Destroy one at once.
    Destroy {
        /// Its name.
        name: String,
    },
}

/// The answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Reply {
    /// Done; lines for the user (notes first).
    Ok {
        /// Remarks for standard error (e.g. the accelerator's fallback).
        notes: Vec<String>,
        /// The result for standard output.
        message: String,
    },
    /// Failed, with the message to show.
    Err(String),
}

/// Writes one framed message.
pub fn send<T: Serialize>(w: &mut impl Write, msg: &T) -> Result<()> {
    let bytes = postcard::to_allocvec(msg).map_err(|source| Error::Message {
        what: "encoding a message",
        source,
    })?;
    w.write_all(&(bytes.len() as u32).to_le_bytes())?;
    w.write_all(&bytes)?;
    w.flush()?;
    Ok(())
}

/// Reads one framed message.
pub fn recv<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> Result<T> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).context("reading a message length")?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MESSAGE_MAX {
        bail!("message of {len} bytes is over the {MESSAGE_MAX}-byte limit");
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).context("reading a message")?;
    postcard::from_bytes(&buf).map_err(|source| Error::Message {
        what: "decoding a message",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let req = Request::Boot(Box::new(BootRequest {
            name: "fw".into(),
            config: "Idle -> Discard;".into(),
            config_file: "fw.click".into(),
            config_name: "fw.click".into(),
            nics: vec!["tap:t0".into()],
            memory: "16M".into(),
            image: "/img".into(),
            accel: "tcg".into(),
            backend: "qemu".into(),
            timeout_ms: 1000,
            ovs_rundir: None,
        }));
        let mut buf = Vec::new();
        send(&mut buf, &req).unwrap();
        assert_eq!(recv::<Request>(&mut buf.as_slice()).unwrap(), req);
        let mut bad = (u32::MAX).to_le_bytes().to_vec();
        bad.extend([0; 8]);
        assert!(recv::<Request>(&mut bad.as_slice()).is_err());
    }
}
