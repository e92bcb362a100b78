//! A minimal HTTP/1.1 server for `GET /metrics`: one thread, one request
//! per connection, enough for Prometheus and curl.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server calls on each scrape: the body, or why there is none
/// (answered 503).
pub type Collect = Box<dyn FnMut() -> Result<String, String> + Send>;

/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request head read.
const MAX_HEAD: usize = 8192;

/// A running metrics endpoint; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` (`127.0.0.1:9464`, `[::]:0` ...) and serves
    /// `collect()`'s text on `GET /metrics` from a thread of its own.
    pub fn start(addr: &str, mut collect: Collect) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if flag.load(Ordering::SeqCst) {
                        break;
                    }
                    // A client that goes away mid-request is its own problem.
                    if let Ok(c) = conn {
                        let _ = serve(c, &mut collect);
                    }
                }
            })?;
        Ok(Server {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address (with the port chosen, for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request head; answers it and closes.
fn serve(c: TcpStream, collect: &mut Collect) -> io::Result<()> {
    c.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    c.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    let mut r = BufReader::new(c.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    // The rest of the head is read and ignored (no body is expected).
    let mut seen = line.len();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" || seen > MAX_HEAD {
            break;
        }
        seen += h.len();
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, ctype, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => match collect() {
            Ok(b) => ("200 OK", super::CONTENT_TYPE, b),
            Err(e) => ("503 Service Unavailable", "text/plain", format!("{e}\n")),
        },
        ("GET" | "HEAD", "/") => (
            "200 OK",
            "text/plain",
            "mbctl agent: metrics are at /metrics\n".into(),
        ),
        ("GET" | "HEAD", _) => ("404 Not Found", "text/plain", "not found\n".into()),
        _ => ("405 Method Not Allowed", "text/plain", "only GET\n".into()),
    };
    let mut w = c;
    write!(
        w,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        w.write_all(body.as_bytes())?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn get(addr: SocketAddr, req: &str) -> String {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(req.as_bytes()).unwrap();
        let mut s = String::new();
        c.read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn serves_metrics_and_refuses_the_rest() {
        let n = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let m = n.clone();
        let srv = Server::start(
            "127.0.0.1:0",
            Box::new(move || {
                let v = m.fetch_add(1, Ordering::SeqCst);
                if v == 2 {
                    Err("store down".into())
                } else {
                    Ok(format!("scrapes {v}\n"))
                }
            }),
        )
        .unwrap();
        let a = srv.addr();
        let r = get(a, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains("Content-Type: text/plain; version=0.0.4"), "{r}");
        assert!(r.contains("Content-Length: 10\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\nscrapes 0\n"), "{r}");
        let r = get(a, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
        assert!(r.ends_with("scrapes 1\n"), "{r}");
        let r = get(a, "GET /metrics HTTP/1.1\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 503"), "{r}");
        assert!(r.ends_with("store down\n"), "{r}");
        assert!(get(a, "GET /nope HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(a, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        let r = get(a, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(
            r.starts_with("HTTP/1.1 200") && r.ends_with("\r\n\r\n"),
            "{r}"
        );
        drop(srv);
        assert!(
            TcpStream::connect(a).is_err(),
            "the port is closed after drop"
        );
    }

    #[test]
    fn a_taken_port_is_an_error() {
        let srv = Server::start("127.0.0.1:0", Box::new(|| Ok(String::new()))).unwrap();
        let e = Server::start(&srv.addr().to_string(), Box::new(|| Ok(String::new())));
        assert!(e.is_err());
    }
}
