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
//!
//! Each domain's watches live in a file of their own
//! (`guest-watches/<domid>`), so a guest's (un)watch rewrites only its own
//! few lines (bounded by its watch quota), never every guest's.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use xenstore::wire::{Message, MsgType};

/// The directory in the state directory (before, one file of that name
/// held every domain's watches; it is read once and split).
const DIR: &str = "guest-watches";

/// Watches per guest domain: (path as the guest gave it, token).
#[derive(Debug, Default)]
pub(crate) struct GuestWatches {
    map: BTreeMap<u32, Vec<(String, Vec<u8>)>>,
    dir: Option<PathBuf>,
}

/// `path\0token\0` of a WATCH or UNWATCH request.
pub(crate) fn parse(payload: &[u8]) -> Option<(String, Vec<u8>)> {
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

/// Parses `domid\tpath\thex-token` lines.
fn parse_lines(text: &str, map: &mut BTreeMap<u32, Vec<(String, Vec<u8>)>>) {
    for line in text.lines() {
        let mut f = line.split('\t');
        let (Some(d), Some(p), Some(t)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if let (Ok(d), Some(t)) = (d.parse(), unhex(t)) {
            let list = map.entry(d).or_default();
            if !list.iter().any(|(lp, lt)| lp == p && *lt == t) {
                list.push((p.to_string(), t));
            }
        }
    }
}

impl GuestWatches {
    /// Loads the watches kept in `dir` (none without a directory).
    pub fn open(dir: Option<&PathBuf>) -> GuestWatches {
        let mut g = GuestWatches {
            map: BTreeMap::new(),
            dir: dir.map(|d| d.join(DIR)),
        };
        let Some(d) = g.dir.clone() else { return g };
        if d.is_file() {
            // The single file of earlier versions: split it per domain.
            if let Ok(text) = std::fs::read_to_string(&d) {
                parse_lines(&text, &mut g.map);
            }
            let _ = std::fs::remove_file(&d);
            let domids: Vec<u32> = g.map.keys().copied().collect();
            for domid in domids {
                g.save_reporting(domid);
            }
            return g;
        }
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name();
            let Some(domid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if let Ok(text) = std::fs::read_to_string(e.path()) {
                let mut one = BTreeMap::new();
                parse_lines(&text, &mut one);
                if let Some(list) = one.remove(&domid) {
                    g.map.insert(domid, list);
                }
            }
        }
        g
    }

    /// Writes `domid`'s file (or removes it when it has no watches).
    fn save(&self, domid: u32) -> io::Result<()> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let f = dir.join(domid.to_string());
        let Some(ws) = self.map.get(&domid) else {
            return match std::fs::remove_file(&f) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        };
        let mut text = String::new();
        for (p, t) in ws {
            text.push_str(&format!("{domid}\t{p}\t{}\n", hex(t)));
        }
        crate::files::private_dir(dir)?;
        let tmp = dir.join(format!("{domid}.tmp"));
        crate::files::write_private(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, f)
    }

    fn save_reporting(&self, domid: u32) {
        if let Err(e) = self.save(domid) {
            eprintln!("mb-xenstored: saving guest {domid}'s watches: {e}");
        }
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
        self.save_reporting(domid);
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
            self.save_reporting(domid);
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
        // One file per domain: a change of domain 4 leaves domain 3's alone.
        let f3 = dir.join(DIR).join("3");
        let before = std::fs::metadata(&f3).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        g.observe(4, &watch(MsgType::Watch, "y", "u"));
        assert_eq!(std::fs::metadata(&f3).unwrap().modified().unwrap(), before);
        g.forget(3);
        assert!(!f3.exists());
        assert!(GuestWatches::open(Some(&dir)).requests(3).is_empty());
        assert_eq!(GuestWatches::open(Some(&dir)).requests(4).len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_old_single_file_is_split() {
        let dir = std::env::temp_dir().join(format!("mbxs-gw-old-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(DIR), "3\tdata\t7477\n5\tx\t74\n").unwrap();
        let g = GuestWatches::open(Some(&dir));
        assert_eq!(g.requests(3)[0].payload, b"data\0tw\0");
        assert!(dir.join(DIR).join("5").is_file());
        let g2 = GuestWatches::open(Some(&dir));
        assert_eq!(g2.requests(5)[0].payload, b"x\0t\0");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
