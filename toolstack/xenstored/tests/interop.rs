//! Debian's `xenstore-*` tools (independent clients) against our server.

mod common;

use common::{have_tools, TestServer};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use xenstore::Errno;

const TOOLS: &[&str] = &[
    "xenstore-write",
    "xenstore-read",
    "xenstore-ls",
    "xenstore-list",
    "xenstore-chmod",
    "xenstore-rm",
    "xenstore-watch",
];

#[test]
fn write_read_list_rm() {
    if !have_tools("write_read_list_rm", TOOLS) {
        return;
    }
    let t = TestServer::start("wrlr");
    t.tool("xenstore-write", &["/tool/a", "hello", "/tool/b", "world"]);
    assert_eq!(t.tool("xenstore-read", &["/tool/a"]), "hello\n");
    assert_eq!(t.tool("xenstore-read", &["/tool/b"]), "world\n");
    assert_eq!(t.tool("xenstore-list", &["/tool"]), "a\nb\n");
    // Our own client sees what the tool wrote, and the reverse.
    let mut c = t.client();
    assert_eq!(c.read("/tool/a").unwrap(), b"hello");
    c.write("/tool/c", b"from-us").unwrap();
    assert_eq!(t.tool("xenstore-read", &["/tool/c"]), "from-us\n");
    t.tool("xenstore-rm", &["/tool/a"]);
    let o = t.tool_at(&t.sock, "xenstore-read", &["/tool/a"]);
    assert!(!o.status.success(), "read of a removed node succeeded");
    assert_eq!(c.read("/tool/a").unwrap_err().errno(), Some(Errno::ENOENT));
    assert_eq!(t.tool("xenstore-list", &["/tool"]), "b\nc\n");
}

#[test]
fn ls_shows_permissions_and_chmod_changes_them() {
    if !have_tools("ls_chmod", TOOLS) {
        return;
    }
    let t = TestServer::start("lsp");
    t.guest(7);
    t.tool("xenstore-write", &["/local/domain/7/name", "mb1"]);
    let ls = t.tool("xenstore-ls", &["-p", "/local/domain/7"]);
    // dom0's write under a guest-owned home comes out owned by the guest.
    assert!(ls.contains("name = \"mb1\""), "{ls}");
    assert!(ls.contains("(n7)"), "{ls}");
    t.tool("xenstore-chmod", &["/local/domain/7/name", "n7", "r8"]);
    let ls = t.tool("xenstore-ls", &["-p", "/local/domain/7"]);
    assert!(ls.contains("(n7,r8)"), "{ls}");
    let mut c = t.client();
    assert_eq!(
        c.get_perms("/local/domain/7/name").unwrap().to_text(),
        "n7 r8"
    );
    // Deep listing with values.
    t.tool("xenstore-write", &["/deep/x/y", "1", "/deep/z", "2"]);
    let ls = t.tool("xenstore-ls", &["/deep"]);
    assert!(ls.contains("x = \"\""), "{ls}");
    assert!(ls.contains(" y = \"1\""), "{ls}");
    assert!(ls.contains("z = \"2\""), "{ls}");
}

#[test]
fn watch_tool_sees_initial_and_change_events() {
    if !have_tools("watch", TOOLS) {
        return;
    }
    let t = TestServer::start("watch");
    t.tool("xenstore-write", &["/w/x", "0"]);
    let mut child = Command::new("xenstore-watch")
        .args(["-n", "3", "/w"])
        .env("XENSTORED_PATH", &t.sock)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawning xenstore-watch");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("initial event").expect("reading");
    assert_eq!(first.split_whitespace().next(), Some("/w"), "{first}");
    t.tool("xenstore-write", &["/w/x", "1"]);
    let second = lines.next().expect("change event").expect("reading");
    assert_eq!(second.split_whitespace().next(), Some("/w/x"), "{second}");
    t.tool("xenstore-rm", &["/w"]);
    let third = lines.next().expect("removal event").expect("reading");
    assert_eq!(third.split_whitespace().next(), Some("/w"), "{third}");
    assert!(child.wait().expect("waiting").success());
}

#[test]
fn guest_socket_is_confined() {
    if !have_tools("guest_socket", TOOLS) {
        return;
    }
    let t = TestServer::start("guest");
    let g7 = t.guest(7);
    t.guest(8);
    t.tool(
        "xenstore-write",
        &["/local/domain/8/secret", "x", "/toolstack/only", "y"],
    );
    // The tools themselves, connected to the guest socket, act as domain 7.
    let o = t.tool_at(
        &g7,
        "xenstore-write",
        &["/local/domain/7/data/clickos", "ready"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = t.tool_at(&g7, "xenstore-read", &["/local/domain/7/data/clickos"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "ready\n");
    let o = t.tool_at(&g7, "xenstore-write", &["/local/domain/8/x", "evil"]);
    assert!(!o.status.success(), "guest wrote into another domain");
    let o = t.tool_at(&g7, "xenstore-read", &["/toolstack/only"]);
    assert!(!o.status.success(), "guest read a dom0-only node");
    // The exact errors, through our client on the same socket.
    let mut g = common::connect(&g7);
    assert_eq!(
        g.read("/local/domain/8/secret").unwrap_err().errno(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        g.write("/local/domain/8/x", b"1").unwrap_err().errno(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        g.write("/toolstack/x", b"1").unwrap_err().errno(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        g.rm("/local/domain/8").unwrap_err().errno(),
        Some(Errno::EACCES)
    );
    assert_eq!(
        g.read("/toolstack/only").unwrap_err().errno(),
        Some(Errno::EACCES)
    );
    // Relative paths land in the guest's home.
    g.write("data/clickos/0/status", b"Running").unwrap();
    let mut d0 = t.client();
    assert_eq!(
        d0.read("/local/domain/7/data/clickos/0/status").unwrap(),
        b"Running"
    );
    // What the permissions allow: dom0 shares one node with dom7, read-only.
    d0.write("/shared/cfg", b"c").unwrap();
    d0.set_perms("/shared/cfg", &perms(&["n0", "r7"])).unwrap();
    d0.set_perms("/shared", &perms(&["n0", "r7"])).unwrap();
    assert_eq!(g.read("/shared/cfg").unwrap(), b"c");
    assert_eq!(
        g.write("/shared/cfg", b"d").unwrap_err().errno(),
        Some(Errno::EACCES)
    );
    let o = t.tool_at(&g7, "xenstore-read", &["/shared/cfg"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "c\n");
    // A guest may not give its nodes away or touch dom0-only operations.
    assert_eq!(
        g.set_perms("data/clickos", &perms(&["n8"]))
            .unwrap_err()
            .errno(),
        Some(Errno::EPERM)
    );
    assert_eq!(
        g.call(0, &xenstore::client::Request::Release(8))
            .unwrap_err()
            .errno(),
        Some(Errno::EACCES)
    );
}

fn perms(items: &[&str]) -> xenstore::wire::PermList {
    xenstore::wire::PermList::parse_list(items.iter().map(|s| s.as_bytes())).expect("valid perms")
}
