//! The Xen shared-ring transport: `struct xenstore_domain_interface`.
//!
//! One 4 KiB page holds two 1 KiB byte rings (requests guest→server,
//! responses server→guest) with free-running u32 indices; byte `i` of a
//! stream lives at `ring[i & 1023]`. A writer copies data, issues a write
//! barrier, then publishes its producer index; a reader loads the producer
//! index, issues a read barrier, copies, issues a full barrier, then
//! publishes its consumer index. Both ends are here: [`GuestRing`] (a
//! [`Transport`](crate::client::Transport) for the guest) and [`ServerRing`]
//! (for a host-side peer, and for testing the guest side on the host).

mod page;

pub use page::{Interface, SharedPage};

use crate::client::Transport;
use core::fmt;
use core::sync::atomic::{fence, Ordering};

/// Bytes in each ring.
pub const RING_SIZE: u32 = 1024;
/// Offset of the request ring.
pub const REQ: usize = 0;
/// Offset of the response ring.
pub const RSP: usize = 1024;
/// Offset of `req_cons`.
pub const REQ_CONS: usize = 2048;
/// Offset of `req_prod`.
pub const REQ_PROD: usize = 2052;
/// Offset of `rsp_cons`.
pub const RSP_CONS: usize = 2056;
/// Offset of `rsp_prod`.
pub const RSP_PROD: usize = 2060;
/// Offset of `server_features`.
pub const SERVER_FEATURES: usize = 2064;
/// Offset of `connection`.
pub const CONNECTION: usize = 2068;
/// Offset of `error`.
pub const ERROR: usize = 2072;
/// `server_features` bit: the server supports the reconnection handshake.
pub const FEATURE_RECONNECTION: u32 = 1;
/// `server_features` bit: the `error` field is present.
pub const FEATURE_ERROR: u32 = 2;
/// `connection` value: connected.
pub const CONNECTED: u32 = 0;
/// `connection` value: the guest asks for a reconnection.
pub const RECONNECT: u32 = 1;
/// `error` value: the indices are inconsistent.
pub const ERROR_RINGIDX: u32 = 2;

/// What went wrong on the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingError {
    /// The peer published indices more than a ring apart.
    BadIndex,
    /// The server reported an error in the `error` field (its value).
    Server(u32),
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RingError::BadIndex => f.write_str("xenstore ring indices are inconsistent"),
            RingError::Server(e) => write!(f, "xenstore server reported ring error {e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RingError {}

/// How a ring end tells its peer about new data, and waits for the peer.
pub trait Notify {
    /// Signals the peer (`EVTCHNOP_send` on Xen).
    fn notify(&mut self);
    /// Waits until the peer may have signalled (halt for an interrupt, or spin).
    fn wait(&mut self);
}

/// Copies up to `buf.len()` bytes into the ring at `base`; returns the count.
fn produce(
    page: &Interface,
    base: usize,
    cons_off: usize,
    prod_off: usize,
    buf: &[u8],
) -> Result<usize, RingError> {
    let prod = page.load(prod_off);
    let cons = page.load(cons_off);
    let used = prod.wrapping_sub(cons);
    if used > RING_SIZE {
        return Err(RingError::BadIndex);
    }
    let n = ((RING_SIZE - used) as usize).min(buf.len());
    if n == 0 {
        return Ok(0);
    }
    fence(Ordering::SeqCst);
    for (i, &b) in buf[..n].iter().enumerate() {
        let at = prod.wrapping_add(i as u32) & (RING_SIZE - 1);
        page.write_byte(base + at as usize, b);
    }
    // Data before index: the peer must never see the index ahead of the bytes.
    fence(Ordering::Release);
    page.store(prod_off, prod.wrapping_add(n as u32));
    Ok(n)
}

/// Copies up to `buf.len()` bytes out of the ring at `base`; returns the count.
fn consume(
    page: &Interface,
    base: usize,
    cons_off: usize,
    prod_off: usize,
    buf: &mut [u8],
) -> Result<usize, RingError> {
    let cons = page.load(cons_off);
    let prod = page.load(prod_off);
    // Index before data.
    fence(Ordering::Acquire);
    let avail = prod.wrapping_sub(cons);
    if avail > RING_SIZE {
        return Err(RingError::BadIndex);
    }
    let n = (avail as usize).min(buf.len());
    if n == 0 {
        return Ok(0);
    }
    for (i, b) in buf[..n].iter_mut().enumerate() {
        let at = cons.wrapping_add(i as u32) & (RING_SIZE - 1);
        *b = page.read_byte(base + at as usize);
    }
    // Finish reading before handing the space back.
    fence(Ordering::SeqCst);
    page.store(cons_off, cons.wrapping_add(n as u32));
    Ok(n)
}

/// The guest's end of the ring: writes requests, reads responses.
pub struct GuestRing<N: Notify> {
    page: Interface,
    notify: N,
}

impl<N: Notify> GuestRing<N> {
    /// The guest end over `page`.
    pub fn new(page: Interface, notify: N) -> Self {
        GuestRing { page, notify }
    }

    /// The notifier.
    pub fn notifier(&mut self) -> &mut N {
        &mut self.notify
    }

    fn check_error(&self) -> Result<(), RingError> {
        if self.page.load(SERVER_FEATURES) & FEATURE_ERROR != 0 {
            let e = self.page.load(ERROR);
            if e != 0 {
                return Err(RingError::Server(e));
            }
        }
        Ok(())
    }
}

impl<N: Notify> Transport for GuestRing<N> {
    type Error = RingError;

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, RingError> {
        self.check_error()?;
        let n = consume(&self.page, RSP, RSP_CONS, RSP_PROD, buf)?;
        if n > 0 {
            self.notify.notify();
        }
        Ok(n)
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, RingError> {
        self.check_error()?;
        let n = produce(&self.page, REQ, REQ_CONS, REQ_PROD, buf)?;
        if n > 0 {
            self.notify.notify();
        }
        Ok(n)
    }

    fn poll(&mut self) -> Result<(), RingError> {
        self.notify.wait();
        Ok(())
    }

    /// The reconnection handshake: set `connection` to RECONNECT, notify, and
    /// wait for the server to reset the rings and set it back to CONNECTED.
    fn reconnect(&mut self) -> Result<bool, RingError> {
        if self.page.load(SERVER_FEATURES) & FEATURE_RECONNECTION == 0 {
            return Ok(false);
        }
        self.page.store(CONNECTION, RECONNECT);
        fence(Ordering::SeqCst);
        self.notify.notify();
        while self.page.load(CONNECTION) != CONNECTED {
            self.notify.wait();
        }
        fence(Ordering::SeqCst);
        Ok(true)
    }
}

/// The server's end of the ring: reads requests, writes responses.
pub struct ServerRing {
    page: Interface,
}

impl ServerRing {
    /// The server end over `page`; advertises `features` (`FEATURE_*` bits).
    pub fn new(page: Interface, features: u32) -> Self {
        page.store(SERVER_FEATURES, features);
        page.store(CONNECTION, CONNECTED);
        page.store(ERROR, 0);
        ServerRing { page }
    }

    /// Reads request bytes the guest produced.
    pub fn read_requests(&mut self, buf: &mut [u8]) -> Result<usize, RingError> {
        let r = consume(&self.page, REQ, REQ_CONS, REQ_PROD, buf);
        if r.is_err() {
            self.page.store(ERROR, ERROR_RINGIDX);
        }
        r
    }

    /// Writes response bytes (replies and watch events); returns how many fit.
    pub fn write_responses(&mut self, buf: &[u8]) -> Result<usize, RingError> {
        let r = produce(&self.page, RSP, RSP_CONS, RSP_PROD, buf);
        if r.is_err() {
            self.page.store(ERROR, ERROR_RINGIDX);
        }
        r
    }

    /// If the guest asked for a reconnection: empties both rings, clears the
    /// error and sets `connection` back; returns `true` so the caller drops
    /// the guest's watches, transactions and queued output.
    pub fn take_reconnect(&mut self) -> bool {
        if self.page.load(CONNECTION) != RECONNECT {
            return false;
        }
        fence(Ordering::SeqCst);
        let req = self.page.load(REQ_PROD);
        self.page.store(REQ_CONS, req);
        let rsp = self.page.load(RSP_CONS);
        self.page.store(RSP_PROD, rsp);
        self.page.store(ERROR, 0);
        fence(Ordering::SeqCst);
        self.page.store(CONNECTION, CONNECTED);
        true
    }
}

#[cfg(test)]
mod tests;
