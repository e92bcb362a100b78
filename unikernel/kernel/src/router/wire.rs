//! The test-fixture router until the Click engine plugs in: a wire that
//! forwards every frame from NIC 0 to NIC 1 and back, and echoes the store
//! byte stream.

use alloc::vec::Vec;

use super::{Io, Router};
use crate::net::Frame;

/// Frames moved per direction per poll.
const BURST: usize = 32;

/// Forwards NIC 0 <-> NIC 1 and echoes the host stream.
#[derive(Default)]
pub struct Wire {
    /// Frames waiting for room on the NIC at the same index.
    backlog: [Vec<Frame>; 2],
    /// Frames forwarded per direction (0 -> 1, 1 -> 0).
    pub forwarded: [u64; 2],
}

impl Wire {
    /// A wire with empty backlogs.
    pub fn new() -> Wire {
        Wire::default()
    }
}

impl Router for Wire {
    fn poll(&mut self, io: &mut Io<'_>) -> bool {
        let mut work = false;
        if io.nic_count() >= 2 {
            for (from, to) in [(0, 1), (1, 0)] {
                // Receive only when the backlog drained: a full TX ring
                // pushes back on the RX ring, where the device drops.
                if self.backlog[to].is_empty() {
                    work |= io.recv(from, &mut self.backlog[to], BURST) > 0;
                }
                if !self.backlog[to].is_empty() {
                    let sent = io.send_batch(to, &mut self.backlog[to]);
                    self.forwarded[from] += sent as u64;
                    work |= sent > 0;
                }
            }
        }
        if let Some(store) = io.store() {
            let mut buf = [0u8; 256];
            let n = store.read(&mut buf);
            if n > 0 {
                let mut done = 0;
                while done < n {
                    let w = store.write(&buf[done..n]);
                    if w == 0 {
                        break; // host not reading; drop the rest
                    }
                    done += w;
                }
                work = true;
            }
        }
        work
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Nic;
    use crate::stream::ByteStream;
    use alloc::boxed::Box;
    use alloc::collections::VecDeque;
    use alloc::rc::Rc;
    use alloc::vec;
    use core::cell::RefCell;

    type Log = Rc<RefCell<Vec<Vec<u8>>>>;

    /// A NIC double with a scripted receive queue and a bounded send ring.
    struct FakeNic {
        rx: VecDeque<Frame>,
        sent: Log,
        room: usize,
    }

    impl Nic for FakeNic {
        fn mac(&self) -> [u8; 6] {
            [2, 0, 0, 0, 0, 1]
        }
        fn recv(&mut self, out: &mut Vec<Frame>, max: usize) -> usize {
            let n = max.min(self.rx.len());
            out.extend(self.rx.drain(..n));
            n
        }
        fn send(&mut self, frame: Frame) -> Result<(), Frame> {
            if self.room == 0 {
                return Err(frame);
            }
            self.room -= 1;
            self.sent.borrow_mut().push(frame.data().to_vec());
            Ok(())
        }
        fn tx_room(&mut self) -> usize {
            self.room
        }
    }

    struct Echo {
        input: Vec<u8>,
        output: Vec<u8>,
    }

    impl ByteStream for Echo {
        fn read(&mut self, buf: &mut [u8]) -> usize {
            let n = buf.len().min(self.input.len());
            buf[..n].copy_from_slice(&self.input[..n]);
            self.input.drain(..n);
            n
        }
        fn write(&mut self, buf: &[u8]) -> usize {
            self.output.extend_from_slice(buf);
            buf.len()
        }
    }

    fn nic(frames: &[&[u8]], room: usize) -> (Box<dyn Nic>, Log) {
        let log = Log::default();
        let rx = frames.iter().map(|f| Frame::from_slice(f)).collect();
        (
            Box::new(FakeNic {
                rx,
                sent: log.clone(),
                room,
            }),
            log,
        )
    }

    #[test]
    fn forwards_both_ways_unchanged_and_in_order() {
        let (n0, log0) = nic(&[b"a1", b"a2"], 8);
        let (n1, log1) = nic(&[b"b1"], 8);
        let mut nics = vec![n0, n1];
        let mut wire = Wire::new();
        assert!(wire.poll(&mut Io::new(&mut nics, None, 0)));
        assert!(!wire.poll(&mut Io::new(&mut nics, None, 0)));
        assert_eq!(*log1.borrow(), vec![b"a1".to_vec(), b"a2".to_vec()]);
        assert_eq!(*log0.borrow(), vec![b"b1".to_vec()]);
        assert_eq!(wire.forwarded, [2, 1]);
    }

    #[test]
    fn full_ring_keeps_backlog_in_order() {
        let (n0, _) = nic(&[b"1", b"2", b"3"], 0);
        let (n1, log1) = nic(&[], 1);
        let mut nics = vec![n0, n1];
        let mut wire = Wire::new();
        wire.poll(&mut Io::new(&mut nics, None, 0));
        assert_eq!(*log1.borrow(), vec![b"1".to_vec()]);
        assert_eq!(wire.backlog[1].len(), 2);
    }

    #[test]
    fn echoes_store_stream_and_tolerates_missing_nics() {
        let mut nics: Vec<Box<dyn Nic>> = vec![];
        let mut echo = Echo {
            input: b"hello\n".to_vec(),
            output: vec![],
        };
        let mut wire = Wire::new();
        assert!(wire.poll(&mut Io::new(&mut nics, Some(&mut echo), 0)));
        assert_eq!(echo.output, b"hello\n");
        assert!(!wire.poll(&mut Io::new(&mut nics, Some(&mut echo), 0)));
    }
}
