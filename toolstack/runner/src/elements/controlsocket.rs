//! `ControlSocket(TYPE, PORT or FILENAME [, KEYWORDS])`: lets Click's tools read and write this router's handlers over a socket.
//!
//! Listens on a TCP port (`TYPE` `TCP`, on all addresses unless
//! `LOCALHOST`) or a Unix socket (`UNIX`, a file name) and speaks Click's
//! ControlSocket protocol, version 1.3, to every client: a
//! `Click::ControlSocket/1.3` greeting, then one command per line,
//! answered with Click's codes (`200` OK, `500` syntax, `501`
//! unimplemented, `510` no such element, `511` no such handler, `520`
//! handler error, `530` permission denied).
//!
//! # Ports
//! None.
//!
//! # Processing
//! Commands: `READ h` (answers `200 Read handler 'h' OK`, then `DATA N`
//! and N bytes), `WRITE h [value]`, `WRITEDATA h N` (then N bytes),
//! `CHECKREAD h`, `CHECKWRITE h`, `QUIT`; `h` is `element.handler` or a
//! router handler (`list`, `classes`, `config`, ...). Read handlers with
//! arguments, `READDATA`, `READUNTIL`, `WRITEUNTIL` and `LLRPC` answer
//! `501`. The sockets are served every 10 ms; a Unix socket's file is
//! removed when the router ends. Host runner only.
//!
//! # Keywords
//! * `READONLY` (bool, default false): refuse writes (`530`).
//! * `LOCALHOST` (bool, default false): TCP on 127.0.0.1 only.
//! * `VERBOSE`, `RETRIES`, `RETRY_WARNINGS`: accepted for compatibility.
//!
//! # Handlers
//! None beyond the generic ones.
//!
//! # Example
//! ```text
//! ControlSocket(TCP, 41900, LOCALHOST true);
//! InfiniteSource(LIMIT 5) -> c :: Counter -> Discard;
//! ```
//! then `printf 'READ c.count\nQUIT\n' | nc localhost 41900`.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};

use click::confparse::Word;
use click::element::{Element, ElementClass};
use click::error::ConfigError;
use click::router::{Ctx, HandlerError, Router};
use click::time::Timestamp;

/// The `ControlSocket` class.
pub static CLASS: ElementClass = ElementClass {
    name: "ControlSocket",
    ports: "0/0",
    processing: "a/a",
    phase: 0,
    make: |args, _cx| {
        let Word(ty) = args.required("TYPE")?;
        let addr = match ty.to_ascii_uppercase().as_str() {
            "TCP" => {
                let port: u16 = args.required("PORT")?;
                Addr::Tcp(port)
            }
            "UNIX" => {
                let Word(path) = args.required("FILENAME")?;
                Addr::Unix(path)
            }
            _ => {
                return Err(ConfigError::bad_value("TYPE", "TCP or UNIX", &ty));
            }
        };
        let read_only = args.keyword_or("READONLY", false)?;
        let localhost = args.keyword_or("LOCALHOST", false)?;
        let _: bool = args.keyword_or("VERBOSE", false)?;
        let _: i64 = args.keyword_or("RETRIES", 0)?;
        let _: bool = args.keyword_or("RETRY_WARNINGS", true)?;
        Ok(Box::new(ControlSocket {
            addr,
            read_only,
            localhost,
            listener: None,
            conns: Vec::new(),
        }))
    },
};

const POLL: Timestamp = Timestamp::from_msec(10);
const GREETING: &[u8] = b"Click::ControlSocket/1.3\r\n";

enum Addr {
    Tcp(u16),
    Unix(String),
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            Stream::Tcp(s) => s,
            Stream::Unix(s) => s,
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

struct Conn {
    stream: Stream,
    input: Vec<u8>,
    closed: bool,
}

/// Serves handler requests.
pub struct ControlSocket {
    addr: Addr,
    read_only: bool,
    localhost: bool,
    listener: Option<Listener>,
    conns: Vec<Conn>,
}

impl ControlSocket {
    fn accept(&mut self) {
        loop {
            let s = match &self.listener {
                Some(Listener::Tcp(l)) => l.accept().map(|(s, _)| {
                    let _ = s.set_nonblocking(true);
                    Stream::Tcp(s)
                }),
                Some(Listener::Unix(l)) => l.accept().map(|(s, _)| {
                    let _ = s.set_nonblocking(true);
                    Stream::Unix(s)
                }),
                None => return,
            };
            let Ok(mut stream) = s else { return };
            if stream.io().write_all(GREETING).is_ok() {
                self.conns.push(Conn {
                    stream,
                    input: Vec::new(),
                    closed: false,
                });
            }
        }
    }

    fn serve(&mut self, r: &Router) {
        let read_only = self.read_only;
        for c in &mut self.conns {
            let mut buf = [0u8; 4096];
            loop {
                match c.stream.io().read(&mut buf) {
                    Ok(0) => {
                        c.closed = true;
                        break;
                    }
                    Ok(n) => c.input.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        c.closed = true;
                        break;
                    }
                }
            }
            let mut out = Vec::new();
            while let Some(used) = command(&c.input, r, read_only, &mut out) {
                c.input.drain(..used);
                if out.ends_with(b"200 Goodbye!\r\n") {
                    c.closed = true;
                    break;
                }
            }
            if !out.is_empty() && c.stream.io().write_all(&out).is_err() {
                c.closed = true;
            }
        }
        self.conns.retain(|c| !c.closed);
    }
}

fn message(out: &mut Vec<u8>, code: u16, msg: &str) {
    out.extend_from_slice(format!("{code} {msg}\r\n").as_bytes());
}

/// Answers the first complete command in `input` into `out`; returns the
/// bytes it used, or `None` when no command is complete yet.
fn command(input: &[u8], r: &Router, read_only: bool, out: &mut Vec<u8>) -> Option<usize> {
    let eol = input.iter().position(|&b| b == b'\n')?;
    let line = String::from_utf8_lossy(&input[..eol]);
    let line = line.trim_end_matches('\r');
    let mut used = eol + 1;
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    let Some(cmd) = words.first() else {
        return Some(used);
    };
    match (cmd.to_ascii_uppercase().as_str(), &words[1..]) {
        ("READ" | "GET", [h]) => match r.read(h) {
            Ok(data) => {
                message(out, 200, &format!("Read handler '{h}' OK"));
                out.extend_from_slice(format!("DATA {}\r\n", data.len()).as_bytes());
                out.extend_from_slice(data.as_bytes());
            }
            Err(e) => handler_error(out, &e),
        },
        ("READ" | "GET", [_, _, ..]) => {
            message(out, 501, "Read handlers with arguments are not supported")
        }
        ("WRITE" | "SET", [h, ..]) => {
            let value = line
                .split_once(h)
                .map(|(_, v)| v.trim_start())
                .unwrap_or("");
            write(out, r, h, value, read_only);
        }
        ("WRITEDATA" | "SETDATA", [h, n]) => {
            let Ok(n) = n.parse::<usize>() else {
                message(out, 500, "Syntax error in 'WRITEDATA'");
                return Some(used);
            };
            if input.len() < used + n {
                return None;
            }
            let value = String::from_utf8_lossy(&input[used..used + n]).into_owned();
            used += n;
            write(out, r, h, &value, read_only);
        }
        ("CHECKREAD" | "CHECKWRITE", [h]) => {
            let writing = cmd.eq_ignore_ascii_case("CHECKWRITE");
            let kind = if writing { "Write" } else { "Read" };
            match r.handler_decl(h) {
                Ok(d) if (writing && d.writable()) || (!writing && d.readable()) => {
                    if writing && read_only {
                        message(out, 530, &format!("Permission denied for '{h}'"));
                    } else {
                        message(out, 200, &format!("{kind} handler '{h}' OK"));
                    }
                }
                Ok(_) => message(
                    out,
                    511,
                    &format!(
                        "Handler '{h}' not {}",
                        if writing { "writable" } else { "readable" }
                    ),
                ),
                Err(e) => handler_error(out, &e),
            }
        }
        ("QUIT", []) => message(out, 200, "Goodbye!"),
        (
            "READ" | "GET" | "WRITE" | "SET" | "WRITEDATA" | "SETDATA" | "CHECKREAD" | "CHECKWRITE"
            | "QUIT",
            _,
        ) => message(out, 500, "Wrong number of arguments"),
        (c, _) => message(out, 501, &format!("Command '{c}' unimplemented")),
    }
    Some(used)
}

fn write(out: &mut Vec<u8>, r: &Router, h: &str, value: &str, read_only: bool) {
    if read_only {
        return message(out, 530, &format!("Permission denied for '{h}'"));
    }
    match r.write(h, value) {
        Ok(()) => message(out, 200, &format!("Write handler '{h}' OK")),
        Err(e) => handler_error(out, &e),
    }
}

fn handler_error(out: &mut Vec<u8>, e: &HandlerError) {
    match e {
        HandlerError::NoElement(n) => message(out, 510, &format!("No element named '{n}'")),
        HandlerError::NoHandler(h, _) => message(out, 511, &format!("No handler named '{h}'")),
        HandlerError::NotReadable(h) => message(out, 530, &format!("Handler '{h}' write-only")),
        HandlerError::NotWritable(h) => message(out, 530, &format!("Handler '{h}' read-only")),
        HandlerError::Failed(h, err) => {
            out.extend_from_slice(format!("520-{err}\r\n").as_bytes());
            message(out, 520, &format!("Write handler '{h}' error"));
        }
        HandlerError::Busy(h) => message(out, 520, &format!("Handler '{h}' error: busy")),
    }
}

impl Element for ControlSocket {
    fn initialize(&mut self, cx: &Ctx) -> Result<(), ConfigError> {
        let err = |e: std::io::Error| ConfigError::initialize(format!("{}: {e}", cx.name()));
        let l = match &self.addr {
            Addr::Tcp(port) => {
                let ip = if self.localhost {
                    Ipv4Addr::LOCALHOST
                } else {
                    Ipv4Addr::UNSPECIFIED
                };
                let l = TcpListener::bind((ip, *port)).map_err(err)?;
                l.set_nonblocking(true).map_err(err)?;
                Listener::Tcp(l)
            }
            Addr::Unix(path) => {
                let l = UnixListener::bind(path).map_err(err)?;
                l.set_nonblocking(true).map_err(err)?;
                Listener::Unix(l)
            }
        };
        self.listener = Some(l);
        cx.set_timer(0, cx.now() + POLL);
        Ok(())
    }

    fn run_timer(&mut self, cx: &Ctx, _id: u32) {
        self.accept();
        self.serve(cx.router());
        cx.set_timer(0, cx.now() + POLL);
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        if let (Addr::Unix(path), Some(_)) = (&self.addr, &self.listener) {
            let _ = std::fs::remove_file(path);
        }
    }
}
