#!/bin/bash
# The middlebox on Xen as an operator runs it: `mbctl boot --backend xl`
# starts our image as a PVH domU with two vifs on two dom0 bridges, the
# firewall config goes in through the system's xenstore, traffic between
# two namespaces crosses it, `mbctl read` counts it, `mbctl reconfigure`
# swaps the config, `mbctl stop` shuts the domain down cleanly; a guest
# that panics (an NMI it does not expect) shows as `crashed` with its last
# console lines, logged by xenconsoled, until `mbctl destroy`.
set -u
source "$(dirname "$0")/lib/common.sh"
MBCTL="$MB_DIR/mbctl"
export MB_IMAGE="$MB_DIR/mb.elf"
trap 'for d in fw cr; do "$MBCTL" destroy $d >/dev/null 2>&1; xl destroy $d >/dev/null 2>&1; done; net_down' EXIT
[ -x "$MBCTL" ] || die "no mbctl on the payload disk (run.sh takes it from MB_MBCTL)"
net_up
ip netns exec ns2 nc -lk 80 >/dev/null 2>&1 &
ip netns exec ns2 nc -lk 23 >/dev/null 2>&1 &
connect() { ip netns exec ns1 nc -z -w "$2" 10.0.0.2 "$1"; }

step "mbctl boot --backend xl"
t0=$(now_ms)
check "mbctl boot" "$MBCTL" boot "$MB_DIR/configs/firewall.click" --backend xl --name fw \
    --nic bridge:xbr0 --nic bridge:xbr1 --memory 16M --timeout 120
t1=$(now_ms)
ok "mbctl boot returned after $((t1 - t0)) ms (xl create to the router running)"
id=$(domid fw)
check "xl list shows fw (d$id)" [ -n "$id" ]
check "config is in the system xenstore" xenstore-read "/local/domain/$id/data/clickos/0/config/0"
check "mbctl logs fw shows the guest's ready line" bash -c "'$MBCTL' logs fw | grep -q 'mb: ready'"
"$MBCTL" ls | sed 's/^/  ls| /'

check "ping ns1 -> ns2 across the middlebox" ip netns exec ns1 ping -c 5 -W 2 -i 0.3 10.0.0.2
n=$("$MBCTL" read fw pings.count --timeout 60)
check "mbctl read fw pings.count = 5 (got $n)" [ "$n" = 5 ]
check "tcp port 80 connects through the firewall" connect 80 5
check "tcp port 23 is blocked" bash -c "! ip netns exec ns1 nc -z -w 3 10.0.0.2 23"
d=$("$MBCTL" read fw denied.count --timeout 60)
check "mbctl read fw denied.count counted the blocked SYNs ($d)" [ "${d:-0}" -ge 1 ]

step "mbctl reconfigure"
check "mbctl reconfigure" "$MBCTL" reconfigure fw "$MB_DIR/configs/open.click" --timeout 120
check "tcp port 23 connects after the swap" connect 23 5
f=$("$MBCTL" read fw fwd.count --timeout 60)
check "mbctl read fw fwd.count counts under the new config ($f)" [ "${f:-0}" -ge 1 ]

step "mbctl stop"
check "mbctl stop" "$MBCTL" stop fw --timeout 60
gone() {
    for _ in $(seq 60); do
        xl list | grep -q '^fw ' || return 0
        sleep 0.5
    done
    return 1
}
check "domain gone from xl list" gone
cons="$CONS_LOG_DIR/guest-fw.log"
check "guest closed its vifs before powering off" grep -q "vif1 closed" "$cons"
step "guest console:"
sed 's/^/  | /' "$cons"

step "a guest that panics is crashed"
check "mbctl boot cr" "$MBCTL" boot "$MB_DIR/configs/firewall.click" --backend xl --name cr \
    --nic bridge:xbr0 --nic bridge:xbr1 --memory 16M --timeout 120
check "mbctl logs cr shows the guest's ready line" bash -c "'$MBCTL' logs cr | grep -q 'mb: ready'"
# An NMI the guest does not expect: its exception handler panics, the
# domain shuts down as crashed and on_crash="destroy" takes it away.
check "xl trigger cr nmi" xl trigger cr nmi
crashed() {
    for _ in $(seq 60); do
        "$MBCTL" show cr | grep -q '^state: *crashed' && return 0
        sleep 0.5
    done
    return 1
}
check "mbctl show cr says crashed" crashed
show=$("$MBCTL" show cr)
sed 's/^/  show| /' <<<"$show"
last_words() { grep -A20 'last console lines' <<<"$show" | grep -q 'mb: panic'; }
check "its last console lines have the guest's panic" last_words
check "mbctl destroy cr" "$MBCTL" destroy cr
check "cr has no record left" bash -c "! '$MBCTL' show cr >/dev/null 2>&1"
check "cr is gone from xl list" bash -c "! xl list | grep -q '^cr '"
