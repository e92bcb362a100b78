//! The xenstore codec on arbitrary bytes: framing (in arbitrary pieces),
//! payload layouts, permissions, paths, the client's reply routing, and the
//! durable record format. Nothing may panic; what decodes must re-encode.
use xenstore::client::Client;
use xenstore::store::Change;
use xenstore::wire::{split_args, split_list, FrameDecoder, PermList, PAYLOAD_MAX};

/// One input.
pub fn run(data: &[u8]) {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let step = usize::from(step % 64) + 1;
    let mut dec = FrameDecoder::new();
    let mut reencoded = Vec::new();
    let mut consumed_ok = true;
    for chunk in rest.chunks(step) {
        dec.push(chunk);
        loop {
            match dec.next_message() {
                Ok(Some(m)) => {
                    assert!(m.payload.len() <= PAYLOAD_MAX);
                    m.encode_into(&mut reencoded).expect("decoded messages re-encode");
                    let _ = m.errno();
                    for n in 1..4 {
                        let _ = split_args(&m.payload, n);
                    }
                    let list = split_list(&m.payload);
                    if let Some(p) = PermList::parse_list(list.iter().copied()) {
                        assert_eq!(PermList::parse_list(split_list(&p.to_payload())), Some(p));
                    }
                    if let Ok(s) = core::str::from_utf8(&m.payload) {
                        if xenstore::path::check(s).is_ok() {
                            let _ = xenstore::path::canonicalize(m.req_id & 0xffff, s);
                        }
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    consumed_ok = false;
                    break;
                }
            }
        }
        if !consumed_ok {
            break;
        }
    }
    // Whatever decoded is a prefix of the input.
    assert!(rest.starts_with(&reencoded));

    let mut c = Client::new();
    let _ = c.send(0, &xenstore::client::Request::Read("/a"));
    let _ = c.input(rest);
    while c.next_event().is_some() {}

    if let Some(ch) = Change::decode(rest) {
        let mut again = Vec::new();
        ch.encode_into(&mut again);
        assert_eq!(Change::decode(&again), Some(ch));
    }
}
