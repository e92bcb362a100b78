#!/bin/bash
# `make test-xen`: the guest-level scenario, then the mbctl one, on the
# same nested host.
set -u
here=$(dirname "$0")
source "$here/lib/common.sh"
step "xen: $(xl info | grep -E '^(xen_version|virt_caps)' | tr -s ' ' | tr '\n' ' ')"
check "xenstored is up" wait_xenstored
console_logging
fast_hotplug
trap 'umount /etc/xen/scripts/vif-bridge 2>/dev/null' EXIT
bash "$here/direct.sh" || exit 1
bash "$here/mbctl.sh" || exit 1
