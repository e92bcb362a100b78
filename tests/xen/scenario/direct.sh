#!/bin/bash
# The guest on Xen without mbctl, inside the nested dom0: a hand-written
# PVH xl config, ClickOS's store protocol spoken with the xenstore-* tools,
# and the guest-level checks (console ring, port 0xE9, pvclock, backend
# states, vifs surviving a backend detach and re-attach, `xl shutdown`
# through control/shutdown).
set -u
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/clickos.sh"
trap 'xl destroy mb1 >/dev/null 2>&1; net_down' EXIT
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
if ! wait_log "$cons" "waiting for a config in the store" 60; then
    guest_dmesg "$id" | tail -30
    die "guest came up and waits for its config (console ring)"
fi
t2=$(now_ms)
ok "guest up, waiting for its config, $((t2 - t0)) ms after xl create"
check "port 0xE9 output in xl dmesg" bash -c "xl dmesg | grep -q '(d$id) mb: '"
check "guest uses Xen's pvclock" grep -q "clock=XenPvclock" "$cons"
check "vif0 connected" grep -q "vif0 connected" "$cons"
check "vif1 connected" grep -q "vif1 connected" "$cons"
check "2 NICs, store on the xenstore ring" grep -q "devices: 2 NICs, store on the xenstore ring" "$cons"
for v in 0 1; do
    st=$(xenstore-read "/local/domain/0/backend/vif/$id/$v/state")
    check "backend vif$id.$v state is Connected (4), got $st" [ "$st" = 4 ]
done
check "guest announced itself as a ClickOS guest (data/clickos)" xenstore-read "/local/domain/$id/data/clickos"

# Listeners behind the middlebox, on an allowed and a blocked port.
ip netns exec ns2 nc -lk 80 >/dev/null 2>&1 &
ip netns exec ns2 nc -lk 23 >/dev/null 2>&1 &
sleep 0.5
connect() { ip netns exec ns1 nc -z -w "$2" 10.0.0.2 "$1"; }

step "firewall config through xenstore"
clickos_install "$id" firewall "$MB_DIR/configs/firewall.click"
check "firewall loaded (pings.count reads 0)" [ "$(clickos_read_loaded "$id" pings count)" = 0 ]
check "status is Running" [ "$(clickos_status "$id")" = Running ]
check "guest printed its ready line" wait_log "$cons" "mb: ready" 10
check "ping ns1 -> ns2 across the middlebox" ip netns exec ns1 ping -c 5 -W 2 -i 0.3 10.0.0.2
check "pings.count matches the 5 echo requests sent" [ "$(clickos_read "$id" pings count)" = 5 ]
check "tcp port 80 connects through the firewall" connect 80 5
check "tcp port 23 is blocked" bash -c "! ip netns exec ns1 nc -z -w 3 10.0.0.2 23"
d=$(clickos_read "$id" denied count)
check "denied.count counted the blocked SYNs ($d)" [ "${d:-0}" -ge 1 ]

# reattach V N: vif V's backend goes away and comes back with the same
# devid, MAC and bridge; the guest must reconnect it (its Nth time).
reattach() {
    local v=$1 n=$2
    step "vif$v's backend goes away and comes back (xl network-detach / network-attach)"
    check "xl network-detach mb1 $v" timeout 60 xl network-detach mb1 "$v"
    check "guest saw vif$v's backend leave" \
        wait_count "$cons" "vif$v backend left Connected" "$n" 30
    check "vif$v's frontend nodes removed by the toolstack" \
        bash -c "! xenstore-read /local/domain/$id/device/vif/$v/state"
    check "ping no longer crosses" bash -c "! ip netns exec ns1 ping -c 1 -W 1 10.0.0.2"
    check "xl network-attach mb1 devid=$v (same mac and bridge)" \
        timeout 60 xl network-attach mb1 "devid=$v" "bridge=xbr$v" "mac=00:16:3e:00:00:1$v"
    check "guest reconnected vif$v" wait_count "$cons" "vif$v reconnected" "$n" 30
    st=$(xenstore-read "/local/domain/0/backend/vif/$id/$v/state")
    check "backend vif$id.$v state is Connected (4) again, got $st" [ "$st" = 4 ]
    check "ping crosses again after the reconnect" \
        ip netns exec ns1 ping -c 3 -W 2 -i 0.3 10.0.0.2
}
# wait_count FILE PATTERN N SECONDS: until PATTERN is on N lines.
wait_count() {
    local end=$(($(date +%s) + $4))
    while [ "$(date +%s)" -lt "$end" ]; do
        [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
        sleep 0.2
    done
    return 1
}
reattach 0 1
reattach 1 1
reattach 0 2
check "firewall still blocks tcp port 23" bash -c "! ip netns exec ns1 nc -z -w 3 10.0.0.2 23"
p=$(clickos_read "$id" pings count)
check "pings.count kept counting across the reconnects (${p:-none} >= 14)" [ "${p:-0}" -ge 14 ]

step "reconfigure through xenstore"
clickos_install "$id" open "$MB_DIR/configs/open.click"
open_loaded() { clickos_read_loaded "$id" fwd count >/dev/null; }
check "new config loaded (fwd.count readable)" open_loaded
check "tcp port 23 connects after the swap" connect 23 5
check "ping still crosses" ip netns exec ns1 ping -c 2 -W 2 -i 0.3 10.0.0.2

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
step "guest console:"
sed 's/^/  | /' "$cons"
