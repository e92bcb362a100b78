//! ICMP types, codes and their Click names (`ipnameinfo.cc`).

/// Length of the ICMP header (type, code, checksum, 4 bytes of rest).
pub const HEADER_LEN: usize = 8;
/// Echo reply.
pub const ECHO_REPLY: u8 = 0;
/// Destination unreachable.
pub const UNREACH: u8 = 3;
/// Source quench.
pub const SOURCE_QUENCH: u8 = 4;
/// Redirect.
pub const REDIRECT: u8 = 5;
/// Echo request.
pub const ECHO: u8 = 8;
/// Time exceeded.
pub const TIME_EXCEEDED: u8 = 11;
/// Parameter problem.
pub const PARAM_PROB: u8 = 12;
/// Unreachable code: fragmentation needed.
pub const UNREACH_NEEDFRAG: u8 = 4;
/// Parameter problem code: error at pointer.
pub const PARAMPROB_ERRATPTR: u8 = 0;

/// ICMP type names Click accepts.
pub const TYPE_NAMES: &[(&str, u8)] = &[
    ("echo", 8),
    ("echo-reply", 0),
    ("inforeq", 15),
    ("inforeq-reply", 16),
    ("maskreq", 17),
    ("maskreq-reply", 18),
    ("parameterproblem", 12),
    ("redirect", 5),
    ("routeradvert", 9),
    ("routersolicit", 10),
    ("sourcequench", 4),
    ("timeexceeded", 11),
    ("timestamp", 13),
    ("timestamp-reply", 14),
    ("unreachable", 3),
];

const UNREACH_CODES: &[(&str, u8)] = &[
    ("net", 0),
    ("host", 1),
    ("protocol", 2),
    ("port", 3),
    ("needfrag", 4),
    ("srcroutefail", 5),
    ("netunknown", 6),
    ("hostunknown", 7),
    ("isolated", 8),
    ("netprohibited", 9),
    ("hostprohibited", 10),
    ("tosnet", 11),
    ("toshost", 12),
    ("filterprohibited", 13),
    ("hostprecedence", 14),
    ("precedencecutoff", 15),
];
const REDIRECT_CODES: &[(&str, u8)] = &[("net", 0), ("host", 1), ("tosnet", 2), ("toshost", 3)];
const TIMXCEED_CODES: &[(&str, u8)] = &[("transit", 0), ("reassembly", 1)];
const PARAMPROB_CODES: &[(&str, u8)] = &[("erroratptr", 0), ("missingopt", 1), ("length", 2)];

fn number(s: &str) -> Option<u8> {
    crate::confparse::values::parse_u64(s).and_then(|v| u8::try_from(v).ok())
}

/// An ICMP type given as a number or a Click name.
pub fn parse_type(s: &str) -> Option<u8> {
    let s = s.trim();
    number(s).or_else(|| TYPE_NAMES.iter().find(|(n, _)| *n == s).map(|(_, v)| *v))
}

fn code_names(ty: u8) -> &'static [(&'static str, u8)] {
    match ty {
        UNREACH => UNREACH_CODES,
        REDIRECT => REDIRECT_CODES,
        TIME_EXCEEDED => TIMXCEED_CODES,
        PARAM_PROB => PARAMPROB_CODES,
        _ => &[],
    }
}

/// An ICMP code for `ty` given as a number or a Click name.
pub fn parse_code(ty: u8, s: &str) -> Option<u8> {
    let s = s.trim();
    number(s).or_else(|| {
        code_names(ty)
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, v)| *v)
    })
}

/// Click's name of ICMP type `ty`, if it has one.
pub fn type_name(ty: u8) -> Option<&'static str> {
    TYPE_NAMES.iter().find(|(_, v)| *v == ty).map(|(n, _)| *n)
}

/// Click's name of code `code` of ICMP type `ty`, if it has one.
pub fn code_name(ty: u8, code: u8) -> Option<&'static str> {
    code_names(ty)
        .iter()
        .find(|(_, v)| *v == code)
        .map(|(n, _)| *n)
}

/// True for the ICMP error types (never answered with another error).
pub fn is_error_type(t: u8) -> bool {
    matches!(
        t,
        UNREACH | SOURCE_QUENCH | REDIRECT | TIME_EXCEEDED | PARAM_PROB
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(parse_type("timeexceeded"), Some(11));
        assert_eq!(parse_type("3"), Some(3));
        assert_eq!(parse_type("bogus"), None);
        assert_eq!(parse_code(3, "needfrag"), Some(4));
        assert_eq!(parse_code(11, "reassembly"), Some(1));
        assert_eq!(parse_code(11, "port"), None);
        assert!(is_error_type(11) && !is_error_type(8));
    }
}
