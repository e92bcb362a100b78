//! Connection tracking that picks a flow's timeout: TCP FIN/RST/data
//! per direction (Click's `TCPFlow` flags) and UDP streaming detection.

/// The forward direction sent FIN (or the flow was reset).
pub const FORWARD_DONE: u8 = 1;
/// The reply direction sent FIN (or the flow was reset).
pub const REPLY_DONE: u8 = 2;
/// The forward direction carried payload.
pub const FORWARD_DATA: u8 = 4;
/// The reply direction carried payload.
pub const REPLY_DATA: u8 = 8;

const TH_FIN: u8 = 0x01;
const TH_SYN: u8 = 0x02;
const TH_RST: u8 = 0x04;

/// Timeout class of a flow: which table timeout applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Class {
    /// TCP without payload seen both ways (TCP_NODATA_TIMEOUT).
    TcpNoData = 0,
    /// TCP with payload seen both ways (TCP_TIMEOUT).
    TcpData = 1,
    /// TCP after FIN both ways or RST (TCP_DONE_TIMEOUT).
    TcpDone = 2,
    /// UDP, fewer than three packets or one-way (UDP_TIMEOUT).
    Udp = 3,
    /// UDP streaming: three packets and a reply (UDP_STREAMING_TIMEOUT).
    UdpStreaming = 4,
    /// Everything else (TIMEOUT of IPAddrRewriter, ICMPPingRewriter).
    Other = 5,
}

/// Number of timeout classes.
pub const NCLASS: usize = 6;

/// Updates TCP flags for a packet in direction `reply` with TCP flags
/// `th_flags`, `payload` true when it carries data.
#[inline]
pub fn tcp_update(tflags: u8, reply: bool, th_flags: u8, payload: bool) -> u8 {
    let d = reply as u8;
    let mut t = tflags;
    if th_flags & TH_RST != 0 {
        t |= FORWARD_DONE | REPLY_DONE;
    } else if th_flags & TH_FIN != 0 {
        t |= FORWARD_DONE << d;
    } else if th_flags & TH_SYN != 0 || payload {
        t &= !(FORWARD_DONE << d);
    }
    if payload {
        t |= FORWARD_DATA << d;
    }
    t
}

/// The class of a TCP flow with flags `t`.
#[inline]
pub fn tcp_class(t: u8) -> Class {
    if t & 3 == 3 {
        Class::TcpDone
    } else if t & 12 == 12 {
        Class::TcpData
    } else {
        Class::TcpNoData
    }
}

/// Updates UDP state: bit 0 = a reply was seen, the rest counts packets
/// up to three (Click's `UDPFlow`).
#[inline]
pub fn udp_update(tflags: u8, reply: bool) -> u8 {
    let mut t = tflags | reply as u8;
    if t < 6 {
        t += 2;
    }
    t
}

/// The class of a UDP flow with state `t`.
#[inline]
pub fn udp_class(t: u8) -> Class {
    if t > 6 {
        Class::UdpStreaming
    } else {
        Class::Udp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_lifecycle() {
        let mut t = tcp_update(0, false, TH_SYN, false);
        assert_eq!(tcp_class(t), Class::TcpNoData);
        t = tcp_update(t, false, 0x10, true);
        assert_eq!(tcp_class(t), Class::TcpNoData);
        t = tcp_update(t, true, 0x10, true);
        assert_eq!(tcp_class(t), Class::TcpData);
        t = tcp_update(t, false, TH_FIN, false);
        assert_eq!(tcp_class(t), Class::TcpData);
        t = tcp_update(t, true, TH_FIN, false);
        assert_eq!(tcp_class(t), Class::TcpDone);
        assert_eq!(
            tcp_class(tcp_update(0, true, TH_RST, false)),
            Class::TcpDone
        );
    }

    #[test]
    fn udp_streaming_needs_three_packets_and_a_reply() {
        let mut t = udp_update(0, false);
        t = udp_update(t, false);
        t = udp_update(t, false);
        assert_eq!(udp_class(t), Class::Udp);
        t = udp_update(t, true);
        assert_eq!(udp_class(t), Class::UdpStreaming);
        let t2 = udp_update(udp_update(0, false), true);
        assert_eq!(udp_class(t2), Class::Udp);
    }
}
