#!/bin/bash
# Xen figures for `make bench-xen` (nested under TCG, so only ratios and
# counts mean much): time from `xl create` to the guest's ready line, and
# the smallest `memory=` (MiB) the guest boots with, two vifs attached.
set -u
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/clickos.sh"
trap 'xl destroy mbb >/dev/null 2>&1; net_down; umount /etc/xen/scripts/vif-bridge 2>/dev/null' EXIT

check "xenstored is up" wait_xenstored
console_logging
fast_hotplug
net_up

# try MEM: boots a guest with MEM MiB, installs the firewall as soon as
# `xl create` returns, and reports the time to the ready line (the config
# running), or fails.
try() {
    cat > /tmp/mbb.cfg <<CFG
name = "mbb"
type = "pvh"
kernel = "$MB_DIR/mb.elf"
memory = $1
vcpus = 1
vif = [ "bridge=xbr0", "bridge=xbr1" ]
tsc_mode = "native"
on_crash = "preserve"
CFG
    rm -f "$CONS_LOG_DIR/guest-mbb.log"
    local t0 t1 t2 rc=1
    t0=$(now_ms)
    if xl create -q /tmp/mbb.cfg >/tmp/mbb.err 2>&1; then
        t1=$(now_ms)
        clickos_install "$(domid mbb)" firewall "$MB_DIR/configs/firewall.click"
        if wait_log "$CONS_LOG_DIR/guest-mbb.log" "mb: ready" 60 &&
            grep -q "mb: ready.* nics=2" "$CONS_LOG_DIR/guest-mbb.log"; then
            t2=$(now_ms)
            echo "bench: memory=${1}MiB xl_create_ms=$((t1 - t0)) create_to_ready_ms=$((t2 - t0)) $(grep -o 'boot_us=[0-9]*' "$CONS_LOG_DIR/guest-mbb.log")"
            rc=0
        else
            echo "bench: memory=${1}MiB not ready with 2 NICs; guest says: $(tail -4 "$CONS_LOG_DIR/guest-mbb.log" | tr '\n' ' ')"
        fi
    else
        echo "bench: memory=${1}MiB xl create failed: $(tail -1 /tmp/mbb.err)"
    fi
    xl destroy mbb >/dev/null 2>&1
    for _ in $(seq 40); do xl list | grep -q '^mbb ' || break; sleep 0.5; done
    return $rc
}

check "boots with memory=32" try 32
smallest=32
for m in 16 8 6 4 3; do
    try "$m" || break
    smallest=$m
done
echo "bench: smallest_memory_mib=$smallest"
check "boots with 8 MiB or less" [ "$smallest" -le 8 ]
