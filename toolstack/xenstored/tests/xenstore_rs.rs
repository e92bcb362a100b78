//! The crates.io `xenstore-rs` client (independent of ours) against our server.

mod common;

use common::TestServer;
use std::io::ErrorKind;
use xenstore_rs::unix::XsUnix;
use xenstore_rs::Xs;

// One test in this binary: XsUnix takes its socket from XENSTORED_PATH, a
// process-wide variable.
#[test]
fn xenstore_rs_reads_and_writes_our_store() {
    let t = TestServer::start("xsrs");
    let g = t.guest(9);
    std::env::set_var("XENSTORED_PATH", &t.sock);
    let xs = XsUnix::new().expect("xenstore-rs connects");
    xs.write("/rs/a", "one").unwrap();
    xs.write("/rs/b", "two").unwrap();
    assert_eq!(&*xs.read("/rs/a").unwrap(), "one");
    let mut kids: Vec<String> = xs
        .directory("/rs")
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    kids.sort();
    assert_eq!(kids, ["a", "b"]);
    let mut ours = t.client();
    assert_eq!(ours.read("/rs/b").unwrap(), b"two");
    ours.write("/rs/c", b"three").unwrap();
    assert_eq!(&*xs.read("/rs/c").unwrap(), "three");
    xs.rm("/rs/a").unwrap();
    assert_eq!(xs.read("/rs/a").unwrap_err().kind(), ErrorKind::NotFound);

    // As a guest: its own home works, others' nodes are refused.
    std::env::set_var("XENSTORED_PATH", &g);
    let gx = XsUnix::new().expect("xenstore-rs connects to the guest socket");
    gx.write("/local/domain/9/data/x", "g").unwrap();
    assert_eq!(&*gx.read("/local/domain/9/data/x").unwrap(), "g");
    assert_eq!(
        gx.read("/rs/b").unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        gx.write("/rs/b", "x").unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(&*xs.read("/rs/b").unwrap(), "two");
}
