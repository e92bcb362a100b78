//! Guest watches that outlive their connection.
//!
//! A guest's store channel (a virtio-console chardev) is a byte stream
//! that breaks when the host's store restarts, yet the guest cannot tell:
//! on Xen the ring simply stays. So the server remembers each guest
//! domain's watches (durably, next to the tree) and gives them to the
//! domain's next connection, as a live-updated xenstored keeps them. The
//! guest never sees the re-registration (its reply and the watch's first
//! event are not sent), so its client and the server agree again.
//! `remove_guest` forgets them.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use xenstore::wire::{Message, MsgType};

/// The file in the state directory.
const FILE: &str = "guest-watches";

/// Watches per guest domain: (path as the guest gave it, token).
#[derive(Debug, Default)]
pub(crate) struct GuestWatches {
    map: BTreeMap<u32, Vec<(String, Vec<u8>)>>,
    file: Option<PathBuf>,
}

/// `path\0token\0` of a WATCH or UNWATCH request.
fn parse(payload: &[u8]) -> Option<(String, Vec<u8>)> {
    let mut parts = payload.split(|&b| b == 0);
    let path = std::str::from_utf8(parts.next()?).ok()?;
    let token = parts.next()?;
    Some((path.to_string(), token.to_vec()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl GuestWatches {
    /// Loads the watches kept in `dir` (none without a directory).
    pub fn open(dir: Option<&PathBuf>) -> GuestWatches {
        let file = dir.map(|d| d.join(FILE));
        let mut map: BTreeMap<u32, Vec<(String, Vec<u8>)>> = BTreeMap::new();
        if let Some(text) = file.as_ref().and_then(|f| std::fs::read_to_string(f).ok()) {
            for line in text.lines() {
                let mut f = line.split('\t');
                let (Some(d), Some(p), Some(t)) = (f.next(), f.next(), f.next()) else {
                    continue;
                };
                if let (Ok(d), Some(t)) = (d.parse(), unhex(t)) {
                    map.entry(d).or_default().push((p.to_string(), t));
                }
            }
        }
        GuestWatches { map, file }
    }

    fn save(&self) -> io::Result<()> {
        let Some(f) = &self.file else { return Ok(()) };
        let mut text = String::new();
        for (d, ws) in &self.map {
            for (p, t) in ws {
                text.push_str(&format!("{d}\t{p}\t{}\n", hex(t)));
            }
        }
        let tmp = f.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, f)
    }

    /// Notes a guest's WATCH or UNWATCH request that the store accepted.
    pub fn observe(&mut self, domid: u32, req: &Message) {
        let Some(w) = parse(&req.payload) else { return };
        let list = self.map.entry(domid).or_default();
        match req.ty {
            MsgType::Watch if !list.contains(&w) => list.push(w),
            MsgType::Unwatch => list.retain(|x| *x != w),
            _ => return,
        }
        if list.is_empty() {
            self.map.remove(&domid);
        }
        if let Err(e) = self.save() {
            eprintln!("mb-xenstored: saving guest watches: {e}");
        }
    }

    /// The WATCH requests that restore `domid`'s watches on a new connection.
    pub fn requests(&self, domid: u32) -> Vec<Message> {
        self.map
            .get(&domid)
            .into_iter()
            .flatten()
            .map(|(p, t)| {
                let mut payload = p.as_bytes().to_vec();
                payload.push(0);
                payload.extend_from_slice(t);
                payload.push(0);
                Message::new(MsgType::Watch, 0, 0, payload)
            })
            .collect()
    }

    /// Forgets `domid` (it is gone).
    pub fn forget(&mut self, domid: u32) {
        if self.map.remove(&domid).is_some() {
            if let Err(e) = self.save() {
                eprintln!("mb-xenstored: saving guest watches: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(ty: MsgType, p: &str, t: &str) -> Message {
        Message::new(ty, 1, 0, format!("{p}\0{t}\0").into_bytes())
    }

    #[test]
    fn kept_durably_until_forgotten() {
        let dir = std::env::temp_dir().join(format!("mbxs-gw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut g = GuestWatches::open(Some(&dir));
        g.observe(3, &watch(MsgType::Watch, "data/clickos", "router-watch"));
        g.observe(3, &watch(MsgType::Watch, "data/clickos", "router-watch"));
        g.observe(3, &watch(MsgType::Watch, "@releaseDomain", "r"));
        g.observe(3, &watch(MsgType::Unwatch, "@releaseDomain", "r"));
        g.observe(4, &watch(MsgType::Watch, "x", "t\tab"));
        let g2 = GuestWatches::open(Some(&dir));
        let r = g2.requests(3);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].ty, MsgType::Watch);
        assert_eq!(r[0].payload, b"data/clickos\0router-watch\0");
        assert_eq!(g2.requests(4)[0].payload, b"x\0t\tab\0");
        g.forget(3);
        assert!(GuestWatches::open(Some(&dir)).requests(3).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
