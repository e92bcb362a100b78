//! Running as a Xen PVH guest: hypercalls, HVM params, shared info, event
//! channels, grant tables, the console and xenstore rings, netfront, and
//! `SCHEDOP_shutdown`. Reimplemented from Xen's public headers
//! (xen/include/public, MIT-licensed).
//!
//! Boot order: [`early_init`] (hypercall page, shared info for the
//! pvclock, console ring) runs before the clock is chosen; [`devices`]
//! then finds the store ring and connects every vif, in vif order, so the
//! router sees them as NICs 0..n exactly like virtio-net devices on KVM.

pub mod console;
pub mod evtchn;
pub mod grant;
pub mod hvm;
pub mod hypercall;
pub mod mux;
pub mod netfront;
pub mod page;
pub mod sched;
pub mod shared;
pub mod store;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::mainloop::{Devices, LoopNic, LoopStream};
use crate::time::pvclock::PvclockInfo;
use store::{StoreRing, XenStore};

/// `DOMID_SELF`.
pub const DOMID_SELF: u16 = 0x7ff0;
/// Local-APIC vector for event-channel upcalls (in the range the IDT
/// records for the main loop).
pub const UPCALL_VECTOR: u8 = 0x3f;

static EARLY_DONE: AtomicBool = AtomicBool::new(false);

/// Sets up hypercalls, shared info (for the clock) and the console ring.
/// Needs the heap. Errors are logged; without hypercalls nothing else
/// works, so callers carry on with port 0xE9 only.
pub fn early_init(base: u32) -> Result<(), &'static str> {
    hypercall::init(base)?;
    shared::init()?;
    EARLY_DONE.store(true, Ordering::Release);
    if let Err(e) = console::init() {
        crate::kprintln!("mb: xen: {e}; logging to port 0xE9 only");
    }
    Ok(())
}

/// The `SHUTDOWN_*` reason the toolstack asked for through
/// `control/shutdown`, if it did.
pub fn stop_requested() -> Option<u32> {
    let r = mux::STOP_REQUEST.load(Ordering::Acquire);
    (r != mux::STOP_NONE).then_some(r)
}

/// vCPU 0's time info, once shared info is mapped.
pub fn time_info() -> Option<*const PvclockInfo> {
    if EARLY_DONE.load(Ordering::Acquire) {
        shared::time_info()
    } else {
        None
    }
}

/// What the Xen platform keeps for shutdown.
pub struct XenState {
    ring: StoreRing,
    grants: grant::GrantTable,
    vifs: Vec<netfront::Teardown>,
}

static mut STATE: Option<XenState> = None;

/// Finds the store ring, connects the vifs and returns them as the main
/// loop's devices. A vif that fails to connect is logged and skipped.
pub fn devices() -> Result<Devices, &'static str> {
    let polled_only = match hvm::set_upcall_vector(UPCALL_VECTOR) {
        Ok(()) => {
            crate::kprintln!("mb: xen: event upcalls on vector {UPCALL_VECTOR:#x}");
            false
        }
        Err(e) => {
            crate::kprintln!("mb: xen: no upcall vector ({e}); devices are polled");
            true
        }
    };
    let ring = StoreRing::find()?;
    let mut grants = grant::GrantTable::new()?;
    let mut xs = store::boot_client(ring);
    let mut nics: Vec<Box<dyn LoopNic>> = Vec::new();
    let mut vifs = Vec::new();
    for index in netfront::xenbus::vif_indices(&mut xs) {
        match netfront::xenbus::connect(&mut xs, &mut grants, index) {
            Ok(nic) => {
                let m = crate::net::Nic::mac(&nic);
                crate::kprintln!(
                    "mb: xen: vif{index} connected mac={:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} evtchn={}",
                    m[0], m[1], m[2], m[3], m[4], m[5],
                    nic.port()
                );
                vifs.push(nic.teardown());
                nics.push(Box::new(nic));
            }
            Err(e) => crate::kprintln!("mb: xen: vif{index}: {e}"),
        }
    }
    // Tell the toolstack which `control/shutdown` requests we honour.
    for f in ["feature-poweroff", "feature-reboot"] {
        let _ = xs.write(&alloc::format!("control/{f}"), b"1");
    }
    let backends: Vec<_> = vifs
        .iter()
        .filter_map(|v: &netfront::Teardown| netfront::xenbus::backend_path(&mut xs, v.index))
        .collect();
    drop(xs);
    store::start_mux(ring);
    // A backend going away shows first in its own state (the toolstack
    // sets it Closing); the frontend directory watch sees the rest.
    for b in &backends {
        store::watch_vif_node(&alloc::format!("{b}/state"));
    }
    // SAFETY: single CPU; written once here before the main loop runs.
    unsafe { STATE = Some(XenState { ring, grants, vifs }) };
    let store: Box<dyn LoopStream> = Box::new(XenStore::new(ring));
    Ok(Devices {
        nics,
        store: Some(store),
        // No state channel on Xen yet (a granted ring would carry it).
        state: None,
        serial_irq: None,
        store_irq: None,
        polled_only,
    })
}

/// Follows vif `nic`'s backend after its nodes changed: closes the link
/// when the backend leaves Connected and redoes the handshake when a
/// backend waits again. Runs in the main loop, over the multiplexer.
pub fn service_vif(nic: &mut netfront::Netfront) {
    use netfront::xenbus::{self, Action};
    // SAFETY: single CPU; the main loop runs, so `devices` has finished
    // and `shutdown` has not started.
    let p = &raw mut STATE;
    let Some(st) = (unsafe { (*p).as_mut() }) else {
        return;
    };
    let index = nic.index;
    let mut xs = store::MuxClient::new(st.ring);
    let (fe, be) = xenbus::states(&mut xs, index);
    if xs.timed_out {
        // A missing reply is not a missing node: closing a working link
        // on it would strand the vif (the backend stays Connected).
        crate::kprintln!("mb: xen: vif{index}: xenstore did not answer; state unchanged");
        return;
    }
    let mut up = nic.is_up();
    if xenbus::next_action(up, fe, be) == Action::Close {
        crate::kprintln!(
            "mb: xen: vif{index} backend left Connected (frontend {fe:?}, backend {be:?}); link down"
        );
        if fe.is_some() && xenbus::backend_closing(be) {
            if let Err(e) = xenbus::close_states(&mut xs, index) {
                crate::kprintln!("mb: xen: vif{index} close: {e}");
            }
        }
        nic.link_down(&mut st.grants);
        st.vifs.retain(|v| v.index != index);
        up = false;
    }
    let (fe, be) = xenbus::states(&mut xs, index);
    if xs.timed_out || xenbus::next_action(up, fe, be) != Action::Reconnect {
        return;
    }
    match xenbus::connect(&mut xs, &mut st.grants, index) {
        Ok(fresh) => {
            nic.adopt(fresh);
            st.vifs.push(nic.teardown());
            if let Some(b) = xenbus::backend_path(&mut xs, index) {
                store::watch_vif_node(&alloc::format!("{b}/state"));
            }
            crate::kprintln!(
                "mb: xen: vif{index} reconnected evtchn={} (link downs {}, tx dropped {})",
                nic.port(),
                nic.stats.link_downs,
                nic.stats.tx_dropped
            );
        }
        Err(e) => crate::kprintln!("mb: xen: vif{index} reconnect: {e}"),
    }
}

/// Closes the vifs cleanly (each backend sees Closing → Closed), then asks
/// Xen to power the domain off. The main loop must not run afterwards:
/// this takes the store ring over for its own requests.
pub fn shutdown(reason: u32) -> ! {
    // SAFETY: single CPU; the main loop has stopped.
    if let Some(st) = unsafe { core::ptr::replace(&raw mut STATE, None) } {
        let XenState {
            ring,
            mut grants,
            vifs,
        } = st;
        let mut xs = store::boot_client(ring);
        for v in &vifs {
            match netfront::xenbus::close(&mut xs, &mut grants, v) {
                Ok(()) => crate::kprintln!("mb: xen: vif{} closed", v.index),
                Err(e) => crate::kprintln!("mb: xen: vif{} close: {e}", v.index),
            }
        }
    }
    crate::kprintln!("mb: xen: SCHEDOP_shutdown reason={reason}");
    sched::shutdown(reason);
    crate::arch::x86_64::cpu::halt_forever()
}
