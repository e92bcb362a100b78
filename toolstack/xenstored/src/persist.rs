//! Durability: a snapshot plus a write-ahead log.
//!
//! Every change is written to the log before it is acknowledged, so the
//! tree survives the server's own crash or restart (the bytes are in the
//! kernel). Whether each append is also fsync'd is the caller's choice
//! ([`Persist::set_fsync`]): C xenstored and oxenstored keep their tree in
//! memory and never sync per write, and the toolstack's store lives in
//! `/run`, which a host reboot empties anyway (its VMs are gone then too),
//! so syncing every write buys nothing there and costs a disk flush per
//! write. Snapshots are always fsync'd before the rename that publishes
//! them, so a log is never cut for a snapshot that might not be on disk.
//!
//! Files in the state directory:
//! * `store.snap`: header (magic, epoch) and the whole tree as records;
//!   replaced atomically (write to a temporary file, fsync, rename).
//! * `store.wal`: header (magic, epoch) and the changes since the snapshot of
//!   the same epoch. A log with an older epoch predates the snapshot and is
//!   ignored; a torn record at its end (a crash mid-write) is cut off.
//!
//! Records are `[len u32 LE][crc32 u32 LE][Change bytes]`.
//!
//! A failed append is cut off the log again, so the log holds exactly
//! the changes that were acknowledged; if even that fails, the log is
//! unusable ([`Persist::is_broken`]) until a compaction rewrites it.

use crate::crc::crc32;
use crate::files;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use xenstore::store::Change;

const SNAP_MAGIC: &[u8; 8] = b"MBXSNAP1";
const WAL_MAGIC: &[u8; 8] = b"MBXSWAL1";
const HEADER: usize = 16;
/// Largest record accepted when reading back (a node is far below this).
const RECORD_MAX: usize = 1 << 20;

/// The open log of a state directory.
#[derive(Debug)]
pub struct Persist {
    dir: PathBuf,
    wal: File,
    wal_len: u64,
    epoch: u64,
    compact_at: u64,
    fsync: bool,
    broken: bool,
}

fn header(magic: &[u8; 8], epoch: u64) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[..8].copy_from_slice(magic);
    h[8..].copy_from_slice(&epoch.to_le_bytes());
    h
}

fn read_header(data: &[u8], magic: &[u8; 8]) -> Option<u64> {
    if data.len() < HEADER || &data[..8] != magic {
        return None;
    }
    let mut e = [0u8; 8];
    e.copy_from_slice(&data[8..HEADER]);
    Some(u64::from_le_bytes(e))
}

fn frame(out: &mut Vec<u8>, c: &Change) {
    let mut body = Vec::new();
    c.encode_into(&mut body);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32(&body).to_le_bytes());
    out.extend_from_slice(&body);
}

/// Reads records from `data` until the end or the first bad one; returns
/// them and how many bytes were good.
fn records(data: &[u8]) -> (Vec<Change>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    while data.len() - pos >= 8 {
        let len =
            u32::from_le_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        let crc = u32::from_le_bytes([data[pos + 4], data[pos + 5], data[pos + 6], data[pos + 7]]);
        if len > RECORD_MAX || data.len() - pos - 8 < len {
            break;
        }
        let body = &data[pos + 8..pos + 8 + len];
        if crc32(body) != crc {
            break;
        }
        match Change::decode(body) {
            Some(c) => out.push(c),
            None => break,
        }
        pos += 8 + len;
    }
    (out, pos)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl Persist {
    /// Opens (creating if needed) the state in `dir`; returns the log and the
    /// changes to replay into an empty store, snapshot first.
    pub fn open(dir: &Path) -> io::Result<(Persist, Vec<Change>)> {
        files::private_dir(dir)?;
        let snap_path = dir.join("store.snap");
        let wal_path = dir.join("store.wal");
        let mut changes = Vec::new();
        let mut epoch = 0;
        match fs::read(&snap_path) {
            Ok(data) => {
                epoch = read_header(&data, SNAP_MAGIC).ok_or_else(|| {
                    invalid(format!("{}: not a store snapshot", snap_path.display()))
                })?;
                let (recs, good) = records(&data[HEADER..]);
                if good != data.len() - HEADER {
                    return Err(invalid(format!(
                        "{}: corrupt record at byte {}",
                        snap_path.display(),
                        HEADER + good
                    )));
                }
                changes = recs;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut wal_data = Vec::new();
        if let Ok(mut f) = File::open(&wal_path) {
            f.read_to_end(&mut wal_data)?;
        }
        let mut keep = 0;
        if read_header(&wal_data, WAL_MAGIC) == Some(epoch) {
            let (recs, good) = records(&wal_data[HEADER..]);
            changes.extend(recs);
            keep = HEADER + good;
        }
        let mut wal = files::open_private(&wal_path, false)?;
        if keep == 0 {
            wal.set_len(0)?;
            wal.write_all(&header(WAL_MAGIC, epoch))?;
            keep = HEADER;
        } else {
            wal.set_len(keep as u64)?;
        }
        wal.sync_all()?;
        sync_dir(dir)?;
        let mut p = Persist {
            dir: dir.to_path_buf(),
            wal,
            wal_len: keep as u64,
            epoch,
            compact_at: 4 << 20,
            fsync: true,
            broken: false,
        };
        io::Seek::seek(&mut p.wal, io::SeekFrom::End(0))?;
        Ok((p, changes))
    }

    /// Sets the log size above which [`needs_compaction`](Self::needs_compaction) says yes.
    pub fn set_compact_threshold(&mut self, bytes: u64) {
        self.compact_at = bytes;
    }

    /// Whether [`append`](Self::append) waits for the disk (default yes).
    pub fn set_fsync(&mut self, on: bool) {
        self.fsync = on;
    }

    /// Appends changes; with fsync on (the default), waits until they are on disk.
    pub fn append(&mut self, changes: &[Change]) -> io::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        if self.broken {
            return Err(io::Error::other(
                "the log is unusable since an earlier error",
            ));
        }
        let mut buf = Vec::new();
        for c in changes {
            frame(&mut buf, c);
        }
        let r = self.wal.write_all(&buf).and_then(|()| {
            if self.fsync {
                self.wal.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = r {
            // Cut off what part of the batch got written: a replay must
            // not bring back a change that was refused.
            let cut = self.wal.set_len(self.wal_len).and_then(|()| {
                io::Seek::seek(&mut self.wal, io::SeekFrom::Start(self.wal_len)).map(|_| ())
            });
            self.broken = cut.is_err();
            return Err(e);
        }
        self.wal_len += buf.len() as u64;
        Ok(())
    }

    /// Whether the log can no longer be appended to (an append failed and
    /// could not be cut off); a successful [`compact`](Self::compact) mends it.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Whether the log has grown enough to be folded into a new snapshot.
    pub fn needs_compaction(&self) -> bool {
        self.wal_len > self.compact_at
    }

    /// Bytes in the log, header included.
    pub fn wal_len(&self) -> u64 {
        self.wal_len
    }

    /// Writes `snapshot` (the whole current state) as the new snapshot and
    /// starts an empty log.
    pub fn compact(&mut self, snapshot: &[Change]) -> io::Result<()> {
        let epoch = self.epoch + 1;
        let mut buf = header(SNAP_MAGIC, epoch).to_vec();
        for c in snapshot {
            frame(&mut buf, c);
        }
        let tmp = self.dir.join("store.snap.tmp");
        files::write_private(&tmp, &buf)?.sync_all()?;
        fs::rename(&tmp, self.dir.join("store.snap"))?;
        // From here the old log is stale (older epoch): appending to it
        // would lose the records, so any failure leaves the log broken.
        self.broken = true;
        sync_dir(&self.dir)?;
        self.wal.set_len(0)?;
        io::Seek::seek(&mut self.wal, io::SeekFrom::Start(0))?;
        self.wal.write_all(&header(WAL_MAGIC, epoch))?;
        self.wal.sync_all()?;
        self.epoch = epoch;
        self.wal_len = HEADER as u64;
        self.broken = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;
    use xenstore::wire::{Access, PermList};

    fn put(p: &str, v: &str) -> Change {
        Change::Put {
            path: p.into(),
            value: v.as_bytes().to_vec(),
            perms: PermList::owned_by(0, Access::None),
        }
    }

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mbxs-persist-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn log_replays_and_torn_tail_is_cut() {
        let d = tempdir("torn");
        let (mut p, init) = Persist::open(&d).unwrap();
        assert!(init.is_empty());
        p.append(&[put("/a", "1"), put("/b", "2")]).unwrap();
        drop(p);
        // Simulate a crash in the middle of a record.
        let mut f = OpenOptions::new()
            .append(true)
            .open(d.join("store.wal"))
            .unwrap();
        f.write_all(&[40, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let (mut p, got) = Persist::open(&d).unwrap();
        assert_eq!(got, vec![put("/a", "1"), put("/b", "2")]);
        p.append(&[put("/c", "3")]).unwrap();
        drop(p);
        let (_, got) = Persist::open(&d).unwrap();
        assert_eq!(got.len(), 3);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn unsynced_appends_still_replay() {
        let d = tempdir("nosync");
        let (mut p, _) = Persist::open(&d).unwrap();
        p.set_fsync(false);
        p.append(&[put("/a", "1")]).unwrap();
        p.append(&[Change::Del { path: "/a".into() }, put("/b", "2")])
            .unwrap();
        // Dropped without a sync, as a killed server leaves it.
        drop(p);
        let (_, got) = Persist::open(&d).unwrap();
        assert_eq!(
            got,
            vec![
                put("/a", "1"),
                Change::Del { path: "/a".into() },
                put("/b", "2")
            ]
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn compaction_replaces_log() {
        let d = tempdir("compact");
        let (mut p, _) = Persist::open(&d).unwrap();
        p.append(&[put("/a", "1")]).unwrap();
        p.compact(&[put("/a", "1"), put("/z", "9")]).unwrap();
        assert_eq!(p.wal_len(), HEADER as u64);
        p.append(&[Change::Del { path: "/z".into() }]).unwrap();
        drop(p);
        let (_, got) = Persist::open(&d).unwrap();
        assert_eq!(
            got,
            vec![
                put("/a", "1"),
                put("/z", "9"),
                Change::Del { path: "/z".into() }
            ]
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_log_that_cannot_be_cut_stays_broken_until_compacted() {
        let d = tempdir("broken");
        let (mut p, _) = Persist::open(&d).unwrap();
        p.append(&[put("/a", "1")]).unwrap();
        // A device that fails every write and cannot be truncated.
        let real = std::mem::replace(
            &mut p.wal,
            OpenOptions::new().write(true).open("/dev/full").unwrap(),
        );
        assert!(p.append(&[put("/b", "2")]).is_err());
        assert!(p.is_broken());
        p.wal = real;
        assert!(p.append(&[put("/c", "3")]).is_err(), "still broken");
        p.compact(&[put("/a", "1"), put("/d", "4")]).unwrap();
        assert!(!p.is_broken());
        p.append(&[put("/e", "5")]).unwrap();
        drop(p);
        let (_, got) = Persist::open(&d).unwrap();
        assert_eq!(got, vec![put("/a", "1"), put("/d", "4"), put("/e", "5")]);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn corrupt_snapshot_is_an_error() {
        let d = tempdir("corrupt");
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("store.snap"), b"garbage").unwrap();
        let e = Persist::open(&d).unwrap_err();
        assert!(e.to_string().contains("not a store snapshot"), "{e}");
        fs::remove_dir_all(&d).unwrap();
    }
}
