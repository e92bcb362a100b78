//! What the guest runs on: hypervisor detection through the CPUID
//! hypervisor leaves (0x4000_0000, and Xen's alternative bases when it also
//! offers Viridian), plus the CPU feature bits the kernel uses.

use crate::arch::x86_64::cpu::{cpuid, Features};

/// The hypervisor underneath, as CPUID reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hypervisor {
    /// Linux KVM (QEMU with `-accel kvm`).
    Kvm {
        /// First CPUID leaf of the KVM range.
        base: u32,
    },
    /// Xen (HVM/PVH guest).
    Xen {
        /// First CPUID leaf of the Xen range.
        base: u32,
    },
    /// QEMU's TCG emulator, which may advertise itself as "TCGTCGTCGTCG".
    Tcg,
    /// Some other hypervisor (signature shown in logs).
    Other([u8; 12]),
    /// No hypervisor bit: bare metal or TCG without a signature.
    None,
}

impl Hypervisor {
    /// Short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Hypervisor::Kvm { .. } => "kvm",
            Hypervisor::Xen { .. } => "xen",
            Hypervisor::Tcg => "tcg",
            Hypervisor::Other(_) => "other",
            Hypervisor::None => "none",
        }
    }
}

/// Everything the kernel learned about the machine at boot.
#[derive(Clone, Copy, Debug)]
pub struct Platform {
    /// Hypervisor under us.
    pub hypervisor: Hypervisor,
    /// CPU features.
    pub features: Features,
}

fn signature(leaf: u32) -> ([u8; 12], u32) {
    let r = cpuid(leaf, 0);
    let mut sig = [0u8; 12];
    sig[0..4].copy_from_slice(&r.ebx.to_le_bytes());
    sig[4..8].copy_from_slice(&r.ecx.to_le_bytes());
    sig[8..12].copy_from_slice(&r.edx.to_le_bytes());
    (sig, r.eax)
}

/// Classifies a hypervisor signature found at CPUID leaf `base`.
pub fn classify(sig: &[u8; 12], base: u32) -> Option<Hypervisor> {
    match sig {
        b"KVMKVMKVM\0\0\0" => Some(Hypervisor::Kvm { base }),
        b"XenVMMXenVMM" => Some(Hypervisor::Xen { base }),
        b"TCGTCGTCGTCG" => Some(Hypervisor::Tcg),
        _ => None,
    }
}

impl Platform {
    /// Probes CPUID.
    pub fn detect() -> Platform {
        let features = Features::detect();
        let mut hypervisor = Hypervisor::None;
        if features.hypervisor {
            let (first, _) = signature(0x4000_0000);
            hypervisor = classify(&first, 0x4000_0000).unwrap_or(Hypervisor::Other(first));
            // Xen moves its leaves up by 0x100 steps when it also offers
            // Viridian (Hyper-V) leaves at the base.
            if !matches!(hypervisor, Hypervisor::Kvm { .. } | Hypervisor::Xen { .. }) {
                for base in (0x4000_0100..0x4001_0000).step_by(0x100).take(4) {
                    let (sig, _) = signature(base);
                    if let Some(h @ (Hypervisor::Xen { .. } | Hypervisor::Kvm { .. })) =
                        classify(&sig, base)
                    {
                        hypervisor = h;
                        break;
                    }
                }
            }
        }
        Platform {
            hypervisor,
            features,
        }
    }

    /// Whether this is a Xen guest.
    pub fn is_xen(&self) -> bool {
        matches!(self.hypervisor, Hypervisor::Xen { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_known_signatures() {
        assert_eq!(
            classify(b"KVMKVMKVM\0\0\0", 0x4000_0000),
            Some(Hypervisor::Kvm { base: 0x4000_0000 })
        );
        assert_eq!(
            classify(b"XenVMMXenVMM", 0x4000_0100),
            Some(Hypervisor::Xen { base: 0x4000_0100 })
        );
        assert_eq!(
            classify(b"TCGTCGTCGTCG", 0x4000_0000),
            Some(Hypervisor::Tcg)
        );
        assert_eq!(classify(b"Microsoft Hv", 0x4000_0000), None);
    }
}
