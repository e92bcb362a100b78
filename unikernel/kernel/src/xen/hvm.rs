//! `HVMOP_get_param`/`HVMOP_set_param` and the event-channel upcall vector.

use super::hypercall::{self, HVM_OP};
use super::DOMID_SELF;

const HVMOP_SET_PARAM: u64 = 0;
const HVMOP_GET_PARAM: u64 = 1;
const HVMOP_SET_EVTCHN_UPCALL_VECTOR: u64 = 23;

/// `HVM_PARAM_CALLBACK_IRQ`: how event-channel upcalls are delivered.
pub const PARAM_CALLBACK_IRQ: u32 = 0;
/// `HVM_PARAM_STORE_PFN`: frame of the xenstore ring.
pub const PARAM_STORE_PFN: u32 = 1;
/// `HVM_PARAM_STORE_EVTCHN`: event channel of the xenstore ring.
pub const PARAM_STORE_EVTCHN: u32 = 2;
/// `HVM_PARAM_CONSOLE_PFN`: frame of the console ring.
pub const PARAM_CONSOLE_PFN: u32 = 17;
/// `HVM_PARAM_CONSOLE_EVTCHN`: event channel of the console ring.
pub const PARAM_CONSOLE_EVTCHN: u32 = 18;

/// `struct xen_hvm_param`.
#[repr(C)]
struct Param {
    domid: u16,
    pad: u16,
    index: u32,
    value: u64,
}

/// `struct xen_hvm_evtchn_upcall_vector`.
#[repr(C)]
struct UpcallVector {
    vcpu: u32,
    vector: u8,
}

/// Reads HVM parameter `index`; `Err(errno)` if Xen refuses.
pub fn get_param(index: u32) -> Result<u64, i64> {
    let mut p = Param {
        domid: DOMID_SELF,
        pad: 0,
        index,
        value: 0,
    };
    // SAFETY: `p` is a live `xen_hvm_param`.
    let rc = unsafe { hypercall::op(HVM_OP, HVMOP_GET_PARAM, &mut p) };
    if rc < 0 {
        Err(rc)
    } else {
        Ok(p.value)
    }
}

/// Sets HVM parameter `index`.
pub fn set_param(index: u32, value: u64) -> Result<(), i64> {
    let mut p = Param {
        domid: DOMID_SELF,
        pad: 0,
        index,
        value,
    };
    // SAFETY: `p` is a live `xen_hvm_param`.
    let rc = unsafe { hypercall::op(HVM_OP, HVMOP_SET_PARAM, &mut p) };
    if rc < 0 {
        Err(rc)
    } else {
        Ok(())
    }
}

/// Has event-channel upcalls for vCPU 0 raised as local-APIC `vector`
/// (`HVMOP_set_evtchn_upcall_vector`: edge-triggered, acknowledged by the
/// APIC EOI like any device interrupt).
///
/// The domain-wide `HVM_PARAM_CALLBACK_IRQ` is set too, to GSI 1, which a
/// PVH domain does not have: it delivers nothing, but libxl only offers
/// `xl shutdown` to guests whose callback parameter is non-zero. (Its
/// vector type is avoided: Xen re-injects that vector for as long as
/// `evtchn_upcall_pending` is set, which our handler does not clear.)
pub fn set_upcall_vector(vector: u8) -> Result<(), i64> {
    let mut v = UpcallVector { vcpu: 0, vector };
    // SAFETY: `v` is a live `xen_hvm_evtchn_upcall_vector`.
    let rc = unsafe { hypercall::op(HVM_OP, HVMOP_SET_EVTCHN_UPCALL_VECTOR, &mut v) };
    if rc < 0 {
        return Err(rc);
    }
    set_param(PARAM_CALLBACK_IRQ, 1)
}
