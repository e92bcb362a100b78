#!/usr/bin/env bash
# The scaling demo (`make demo-scale`): nat-scaled.toml, a NAT hop that
# the controller scales with its load. UDP load from two clients pushes it
# past its threshold (a warm replica takes new flows at once, a new spare
# boots), new flows from the other clients spread over both replicas, the
# load stops and the hop drains back to one; then a replica's QEMU is
# killed and replaced. Needs root, Open vSwitch, QEMU, iperf3 and the
# guest image (`make image`).
#   click-configs/chains/demo-scale.sh [MBCTL]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mbctl="${1:-$here/../../target/release/mbctl}"
export MBCTL_RUN_DIR="${MBCTL_RUN_DIR:-$here/../../target/demo-scale}"
export MB_IMAGE="${MB_IMAGE:-$here/../../images/mb.elf}"
pids=()

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    "$mbctl" chain down natscale >/dev/null 2>&1 || true
    if [ -S "$MBCTL_RUN_DIR/agent.sock" ]; then "$mbctl" agent stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
wait_for() { # wait_for KIND [REPLICA]: until the chain logs that event
    for _ in $(seq 600); do
        if "$mbctl" chain events natscale --json | grep "\"kind\":\"$1\"" | grep -q "${2:-}"; then return; fi
        sleep 0.2
    done
    echo "no $1 event"; exit 1
}

step "mbctl chain up nat-scaled.toml: a NAT hop, 1..3 replicas, one warm spare"
"$mbctl" chain up "$here/nat-scaled.toml"
"$mbctl" chain show natscale

for i in 1 2 3 4; do
    ip netns exec nss iperf3 -s -p "520$i" -B 10.77.2.2 --forceflush >"$MBCTL_RUN_DIR/iperf$i.log" 2>&1 &
    pids+=("$!")
done
sleep 1

step "UDP load from nsc1 and nsc2 (about 500 packets/s each, above 300 per replica)"
for i in 1 2; do
    ip netns exec "nsc$i" iperf3 -c 10.77.2.2 -p "520$i" -u -b 400k -l 100 -t 60 >/dev/null 2>&1 &
    pids+=("$!")
done
wait_for threshold
wait_for running natscale-nat-1
"$mbctl" chain events natscale

step "new flows from nsc3 and nsc4: src-ip split, each client to its replica"
for i in 3 4; do
    ip netns exec "nsc$i" iperf3 -c 10.77.2.2 -p "520$i" -t 5 -b 200k >/dev/null
done
"$mbctl" chain show natscale
echo "the server saw these public addresses (one per NAT replica):"
grep -ho 'from 10\.77\.2\.1[0-9]' "$MBCTL_RUN_DIR"/iperf*.log | sort | uniq -c

step "load stops: below 30 packets/s for 3 s, the hop drains back to one replica"
for p in "${pids[@]:4}"; do kill "$p" 2>/dev/null || true; done
wait_for removed natscale-nat-1
"$mbctl" chain show natscale

step "kill -9 of the serving replica's QEMU: the warm spare replaces it"
pid=$("$mbctl" show natscale-nat-0 --json | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
kill -9 "$pid"
wait_for failed natscale-nat-0
wait_for running
ip netns exec nsc1 ping -c 3 -i 0.3 -w 10 10.77.2.2
"$mbctl" chain events natscale
"$mbctl" chain show natscale

step "mbctl chain down natscale"
"$mbctl" chain down natscale
