//! The Xen shared-ring transport (placeholder).
