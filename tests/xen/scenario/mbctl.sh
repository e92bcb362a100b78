#!/bin/bash
# The middlebox on Xen as an operator runs it: `mbctl boot --backend xl`
# starts our image as a PVH domU with two vifs on two dom0 bridges, the
# firewall config goes in through the system's xenstore, traffic between
# two namespaces crosses it, `mbctl read` counts it, `mbctl reconfigure`
# swaps the config, `mbctl stop` shuts the domain down cleanly; the
# dual-stack firewall (click-configs/firewall6.click) forwards IPv6 over
# netfront, neighbour discovery included, and refuses a port; a guest
# that panics (an NMI it does not expect) shows as `crashed` with its last
# console lines, logged by xenconsoled, until `mbctl destroy`.
set -u
source "$(dirname "$0")/lib/common.sh"
MBCTL="$MB_DIR/mbctl"
export MB_IMAGE="$MB_DIR/mb.elf"
trap 'for d in fw fw6 cr; do "$MBCTL" destroy $d >/dev/null 2>&1; xl destroy $d >/dev/null 2>&1; done; net_down' EXIT
[ -x "$MBCTL" ] || die "no mbctl on the payload disk (run.sh takes it from MB_MBCTL)"
net_up
ip netns exec ns2 nc -lk 80 >/dev/null 2>&1 &
ip netns exec ns2 nc -lk 23 >/dev/null 2>&1 &
# mb_boot NAME CONFIG: a middlebox between the two bridges; on failure
# also shows how far its vifs got.
mb_boot() {
    "$MBCTL" boot "$2" --backend xl --name "$1" \
        --nic bridge:xbr0 --nic bridge:xbr1 --memory 16M --timeout 120 && return 0
    vif_states "$(domid "$1")"
    return 1
}
connect() { ip netns exec ns1 nc -z -w "$2" 10.0.0.2 "$1"; }

step "mbctl boot --backend xl"
t0=$(now_ms)
check "mbctl boot" mb_boot fw "$MB_DIR/configs/firewall.click"
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

step "IPv6 through the dual-stack firewall (click-configs/firewall6.click)"
# IPv6-only listeners next to the IPv4 ones, on the allowed and a refused port.
ip netns exec ns2 nc -6 -lk 80 >/dev/null 2>&1 &
ip netns exec ns2 nc -6 -lk 23 >/dev/null 2>&1 &
check "mbctl boot fw6" mb_boot fw6 "$MB_DIR/click-configs/firewall6.click"
# Neighbour discovery crosses the middlebox too: ns1 resolves fd00::2 by a
# solicitation to ns2's solicited-node multicast MAC (33:33:ff:00:00:02).
check "ping -6 ns1 -> ns2 across the middlebox" ip netns exec ns1 ping -6 -c 5 -W 2 -i 0.3 fd00::2
check "tcp port 80 over IPv6 connects through the firewall" ip netns exec ns1 nc -6 -z -w 5 fd00::2 80
check "ns2 itself accepts tcp port 23 over IPv6" ip netns exec ns2 nc -6 -z -w 3 fd00::2 23
check "tcp port 23 over IPv6 is refused by the firewall" bash -c "! ip netns exec ns1 nc -6 -z -w 3 fd00::2 23"
check "ping (IPv4) crosses the same firewall" ip netns exec ns1 ping -c 2 -W 2 -i 0.3 10.0.0.2
a=$("$MBCTL" read fw6 allowed6.count --timeout 60)
check "mbctl read fw6 allowed6.count counts the 5 echoes and the handshake ($a)" [ "${a:-0}" -ge 7 ]
d=$("$MBCTL" read fw6 denied6.count --timeout 60)
check "mbctl read fw6 denied6.count counted the refused SYNs ($d)" [ "${d:-0}" -ge 1 ]
c=$("$MBCTL" read fw6 check6.drops --timeout 60)
check "no IPv6 packet was malformed on the way in (check6.drops = $c)" [ "$c" = 0 ]
check "mbctl stop fw6" "$MBCTL" stop fw6 --timeout 60

step "a guest that panics is crashed"
check "mbctl boot cr" mb_boot cr "$MB_DIR/configs/firewall.click"
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
