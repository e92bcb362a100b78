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
//! Each domain has a log of its own (`guest-watches/<domid>`): a watch or
//! unwatch appends one line (`+` or `-`, path, token in hex), and the log is
//! rewritten only once it holds twice as many lines as live watches. So an
//! (un)watch costs the same however many watches this or any other guest
//! has.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::PathBuf;
use xenstore::wire::{Message, MsgType};

/// The directory in the state directory (before, one file of that name
/// held every domain's watches; it is read once and split).
const DIR: &str = "guest-watches";

/// One watch: the path as the guest gave it, and the token.
type GuestWatch = (String, Vec<u8>);

/// A domain's watches and the lines its log holds.
#[derive(Debug, Default)]
struct Domain {
    watches: BTreeSet<GuestWatch>,
    lines: usize,
}

/// Watches per guest domain.
#[derive(Debug, Default)]
pub(crate) struct GuestWatches {
    map: BTreeMap<u32, Domain>,
    dir: Option<PathBuf>,
}

/// `path\0token\0` of a WATCH or UNWATCH request.
pub(crate) fn parse(payload: &[u8]) -> Option<GuestWatch> {
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

fn line(op: char, (p, t): &GuestWatch) -> String {
    format!("{op}\t{p}\t{}\n", hex(t))
}

/// Replays a domain's log (`+`/`-` lines); a torn last line (no newline) is skipped.
fn replay(text: &str) -> Domain {
    let mut d = Domain::default();
    for l in text.split_inclusive('\n') {
        d.lines += 1;
        let Some(l) = l.strip_suffix('\n') else {
            continue;
        };
        let mut f = l.split('\t');
        let (Some(op), Some(p), Some(t)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Some(t) = unhex(t) else { continue };
        match op {
            "+" => d.watches.insert((p.to_string(), t)),
            "-" => d.watches.remove(&(p.to_string(), t)),
            _ => continue,
        };
    }
    d
}

/// Parses the old single file's `domid\tpath\thex-token` lines.
fn parse_old(text: &str) -> BTreeMap<u32, Domain> {
    let mut map: BTreeMap<u32, Domain> = BTreeMap::new();
    for l in text.lines() {
        let mut f = l.split('\t');
        let (Some(d), Some(p), Some(t)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if let (Ok(d), Some(t)) = (d.parse(), unhex(t)) {
            map.entry(d).or_default().watches.insert((p.to_string(), t));
        }
    }
    map
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
                g.map = parse_old(&text);
            }
            let _ = std::fs::remove_file(&d);
        } else {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let name = e.file_name();
                let Some(domid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
                    continue;
                };
                if let Ok(text) = std::fs::read_to_string(e.path()) {
                    g.map.insert(domid, replay(&text));
                }
            }
        }
        if let Err(e) = crate::files::private_dir(&d) {
            eprintln!("mb-xenstored: {}: {e}", d.display());
        }
        // Start every log compact (and in the current format).
        let domids: Vec<u32> = g.map.keys().copied().collect();
        for domid in domids {
            g.rewrite_reporting(domid);
        }
        g
    }

    /// Rewrites `domid`'s log as its live watches (removes it if none).
    fn rewrite(&mut self, domid: u32) -> io::Result<()> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let f = dir.join(domid.to_string());
        let Some(d) = self.map.get_mut(&domid).filter(|d| !d.watches.is_empty()) else {
            self.map.remove(&domid);
            return match std::fs::remove_file(&f) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        };
        let text: String = d.watches.iter().map(|w| line('+', w)).collect();
        let tmp = dir.join(format!("{domid}.tmp"));
        crate::files::write_private(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, f)?;
        d.lines = d.watches.len();
        Ok(())
    }

    fn rewrite_reporting(&mut self, domid: u32) {
        if let Err(e) = self.rewrite(domid) {
            eprintln!("mb-xenstored: saving guest {domid}'s watches: {e}");
        }
    }

    /// Appends one line to `domid`'s log.
    fn append(&self, domid: u32, text: &str) -> io::Result<()> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let mut f = crate::files::append_private(&dir.join(domid.to_string()))?;
        f.write_all(text.as_bytes())
    }

    /// Notes a guest's WATCH or UNWATCH request that the store accepted.
    pub fn observe(&mut self, domid: u32, req: &Message) {
        let Some(w) = parse(&req.payload) else { return };
        let d = self.map.entry(domid).or_default();
        let op = match req.ty {
            MsgType::Watch if d.watches.insert(w.clone()) => '+',
            MsgType::Unwatch if d.watches.remove(&w) => '-',
            _ => return,
        };
        d.lines += 1;
        if d.lines > 2 * d.watches.len() + 16 {
            self.rewrite_reporting(domid);
        } else if let Err(e) = self.append(domid, &line(op, &w)) {
            eprintln!("mb-xenstored: saving guest {domid}'s watches: {e}");
        }
    }

    /// The WATCH requests that restore `domid`'s watches on a new connection.
    pub fn requests(&self, domid: u32) -> Vec<Message> {
        self.map
            .get(&domid)
            .into_iter()
            .flat_map(|d| &d.watches)
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
        if let Some(d) = self.map.get_mut(&domid) {
            d.watches.clear();
            self.rewrite_reporting(domid);
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
        // Appended, not rewritten: three lines for domain 3 so far.
        let log3 = std::fs::read_to_string(dir.join(DIR).join("3")).unwrap();
        assert_eq!(log3.lines().count(), 3, "{log3}");
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
        std::fs::write(dir.join(DIR), "3\tdata\t7477\n5\tx\t74\n3\tdata\t7477\n").unwrap();
        let g = GuestWatches::open(Some(&dir));
        assert_eq!(g.requests(3)[0].payload, b"data\0tw\0");
        assert!(dir.join(DIR).join("5").is_file());
        assert_eq!(g.requests(3).len(), 1);
        let g2 = GuestWatches::open(Some(&dir));
        assert_eq!(g2.requests(5)[0].payload, b"x\0t\0");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_log_stays_small() {
        let dir = std::env::temp_dir().join(format!("mbxs-gw-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut g = GuestWatches::open(Some(&dir));
        g.observe(7, &watch(MsgType::Watch, "keep", "k"));
        for _ in 0..1000 {
            g.observe(7, &watch(MsgType::Watch, "a", "t"));
            g.observe(7, &watch(MsgType::Unwatch, "a", "t"));
        }
        let log = std::fs::read_to_string(dir.join(DIR).join("7")).unwrap();
        assert!(
            log.lines().count() <= 2 + 16 + 1,
            "{} lines",
            log.lines().count()
        );
        let g2 = GuestWatches::open(Some(&dir));
        assert_eq!(g2.requests(7).len(), 1);
        assert_eq!(g2.requests(7)[0].payload, b"keep\0k\0");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
