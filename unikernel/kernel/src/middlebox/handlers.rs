//! Handler calls through the store: a read request under `control/read/`
//! is answered with the value under `elements/` and a `lock` marker; a
//! value a host writes under `elements/` is a write request; a failed call
//! leaves its message in the handler's `error` node.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use xenstore::client::{ClientError, Reply, Request};

use super::app::App;
use super::session::{Conn, Tag, HOME, VALUE_MAX};

/// Read results remembered to recognise their watch events.
const ECHOES_MAX: usize = 64;

/// The handler requests in progress.
pub struct Handlers {
    /// (path, value) of read results written and not yet seen back.
    echoes: Vec<(String, Vec<u8>)>,
    /// Reads of write requests' values in flight.
    value_reads: u32,
}

impl Handlers {
    /// Nothing in progress.
    pub fn new() -> Handlers {
        Handlers {
            echoes: Vec::new(),
            value_reads: 0,
        }
    }

    /// A read request for `element.handler` appeared. The request node
    /// carries nothing to read, so answer at once, one store round trip
    /// sooner; but a write request whose value is still being read came
    /// first, and hosts read a handler after a write to learn that it was
    /// applied: then read the node, whose reply comes after the value's.
    pub fn read_requested(&mut self, element: &str, handler: &str, app: &App, conn: &mut Conn) {
        if self.value_reads > 0 {
            conn.send(
                &Request::Read(&HOME.control_read(element, handler)),
                Tag::Control(element.into(), handler.into()),
            );
        } else {
            self.answer_read(element, handler, app, conn);
        }
    }

    /// A value under `elements/` changed: read it.
    pub fn value_changed(&mut self, element: &str, handler: &str, conn: &mut Conn) {
        self.value_reads += 1;
        conn.send(
            &Request::Read(&HOME.element(element, handler)),
            Tag::Value(element.into(), handler.into()),
        );
    }

    /// The reply for a read request's node: answer it if it is still there.
    pub fn on_request_node(
        &mut self,
        element: &str,
        handler: &str,
        r: Result<Reply, ClientError>,
        app: &App,
        conn: &mut Conn,
    ) {
        if r.is_ok() {
            self.answer_read(element, handler, app, conn);
        }
    }

    /// The reply for a value under `elements/`.
    pub fn on_value(
        &mut self,
        element: &str,
        handler: &str,
        r: Result<Reply, ClientError>,
        app: &mut App,
        conn: &mut Conn,
    ) {
        self.value_reads = self.value_reads.saturating_sub(1);
        if let Ok(v) = r {
            self.call_write(element, handler, v.bytes(), app, conn);
        }
    }

    fn answer_read(&mut self, element: &str, handler: &str, app: &App, conn: &mut Conn) {
        let value = match app.read_handler(element, handler) {
            Ok(v) if v.len() > VALUE_MAX => Err(format!(
                "value of {} bytes is too long for the store",
                v.len()
            )),
            v => v,
        };
        match value {
            Ok(v) => {
                let path = HOME.element(element, handler);
                if !v.is_empty() {
                    if self.echoes.len() >= ECHOES_MAX {
                        self.echoes.remove(0);
                    }
                    self.echoes.push((path.clone(), v.as_bytes().to_vec()));
                }
                conn.send(&Request::Write(&path, v.as_bytes()), Tag::Ignore);
                conn.send(
                    &Request::Write(&HOME.lock(element, handler), b"0"),
                    Tag::Ignore,
                );
            }
            Err(msg) => report(element, handler, &msg, conn),
        }
    }

    /// A value appeared under `elements/`: the guest's own read result
    /// coming back (ignored once), an empty value (a host clearing a read
    /// result, ignored as ClickOS does), or a write request.
    fn call_write(
        &mut self,
        element: &str,
        handler: &str,
        value: &[u8],
        app: &mut App,
        conn: &mut Conn,
    ) {
        let path = HOME.element(element, handler);
        // The guest's own write is moot once the node holds something
        // else, so the record goes either way.
        if let Some(i) = self.echoes.iter().position(|(p, _)| *p == path) {
            let (_, v) = self.echoes.remove(i);
            if v == value {
                return;
            }
        }
        if value.is_empty() {
            return;
        }
        let Ok(text) = core::str::from_utf8(value) else {
            return report(element, handler, "value is not UTF-8 text", conn);
        };
        if let Err(msg) = app.write_handler(element, handler, text) {
            report(element, handler, &msg, conn);
        }
    }
}

/// Reports a failed handler call where the host looks for its answer.
fn report(element: &str, handler: &str, msg: &str, conn: &mut Conn) {
    crate::kprintln!("mb: handler {element}.{handler}: {msg}");
    conn.write_message(&HOME.handler_error(element, handler), msg);
}
