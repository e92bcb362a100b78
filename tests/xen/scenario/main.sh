#!/bin/bash
# The middlebox on Xen, end to end, inside the nested dom0: our PVH image
# with two vifs on two bridges between two namespaces.
set -u
source "$(dirname "$0")/lib/common.sh"
trap 'xl destroy mb1 >/dev/null 2>&1; net_down; umount /etc/xen/scripts/vif-bridge 2>/dev/null' EXIT

step "xen: $(xl info | grep -E '^(xen_version|virt_caps)' | tr -s ' ' | tr '\n' ' ')"
check "xenstored is up" wait_xenstored
console_logging
fast_hotplug
net_up

cat > /tmp/mb1.cfg <<CFG
name = "mb1"
type = "pvh"
kernel = "$MB_DIR/mb.elf"
memory = 32
vcpus = 1
vif = [ "bridge=xbr0,mac=00:16:3e:00:00:10",
        "bridge=xbr1,mac=00:16:3e:00:00:11" ]
tsc_mode = "native"
on_crash = "preserve"
CFG

t0=$(now_ms)
if ! xl create -q /tmp/mb1.cfg; then
    diagnose
    die "xl create"
fi
t1=$(now_ms)
id=$(domid mb1)
step "domain mb1 is d$id; xl create took $((t1 - t0)) ms"
cons="$CONS_LOG_DIR/guest-mb1.log"
if ! wait_log "$cons" "mb: ready" 60; then
    guest_dmesg "$id" | tail -30
    die "guest printed its ready line on the console ring"
fi
t2=$(now_ms)
ok "guest ready on the console ring $((t2 - t0)) ms after xl create"
step "guest console:"
sed 's/^/  | /' "$cons"
check "port 0xE9 output in xl dmesg" bash -c "xl dmesg | grep -q '(d$id) mb: '"
check "guest uses Xen's pvclock" grep -q "clock=XenPvclock" "$cons"
check "vif0 connected" grep -q "vif0 connected" "$cons"
check "vif1 connected" grep -q "vif1 connected" "$cons"
for v in 0 1; do
    st=$(xenstore-read "/local/domain/0/backend/vif/$id/$v/state")
    check "backend vif$id.$v state is Connected (4), got $st" [ "$st" = 4 ]
done
check "ping ns1 -> ns2 across the middlebox" ip netns exec ns1 ping -c 3 -W 2 -i 0.3 10.0.0.2

step "xl shutdown (the guest watches control/shutdown)"
check "xl shutdown -w" timeout 60 xl shutdown -w mb1
gone() {
    for _ in $(seq 60); do
        xl list | grep -q '^mb1 ' || return 0
        sleep 0.5
    done
    return 1
}
check "domain gone from xl list" gone
check "guest saw the request" grep -q "toolstack asked for poweroff" "$cons"
check "vif0 closed cleanly" grep -q "vif0 closed" "$cons"
check "vif1 closed cleanly" grep -q "vif1 closed" "$cons"
check "guest shut itself down" grep -q "SCHEDOP_shutdown reason=0" "$cons"
