#!/usr/bin/env bash
# The chain demo (`make demo`): firewall -> NAT between two network
# namespaces, with real clients. Needs root, Open vSwitch, curl, python3.
#   click-configs/chains/demo.sh [MBCTL]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mbctl="${1:-$here/../../target/release/mbctl}"
export MBCTL_RUN_DIR="${MBCTL_RUN_DIR:-$here/../../target/demo-chain}"
www="$MBCTL_RUN_DIR/www"
pids=()

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    "$mbctl" chain down fwnat >/dev/null 2>&1 || true
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

mkdir -p "$www"
echo "hello from the server, through firewall and NAT" > "$www/index.html"

step "mbctl chain up fw-nat.toml: firewall -> NAT, client 10.10.1.2, server 10.10.2.2"
"$mbctl" chain up "$here/fw-nat.toml"
"$mbctl" chain ls

step "web servers in the server namespace on ports 80 (allowed) and 8080 (blocked)"
for port in 80 8080; do
    ip netns exec mbserver python3 -m http.server "$port" --bind 10.10.2.2 -d "$www" \
        >"$MBCTL_RUN_DIR/http$port.log" 2>&1 &
    pids+=("$!")
done
for port in 80 8080; do
    for _ in $(seq 100); do
        ip netns exec mbserver ss -Htln "sport = :$port" | grep -q . && break
        sleep 0.05
    done
done

step "ping 10.10.2.2 from the client: passes the firewall, the NAT rewrites it"
ip netns exec mbclient ping -c 3 -i 0.3 -w 10 10.10.2.2

step "curl http://10.10.2.2/ (port 80, allowed)"
ip netns exec mbclient curl -sS -m 10 http://10.10.2.2/
echo "the server saw the request from:"
grep -o '^[0-9.]* - - .*"GET[^"]*"' "$MBCTL_RUN_DIR/http80.log" | sed 's/^/  /'
echo "(10.10.2.1 is the NAT's public address, not the client's 10.10.1.2)"

step "curl http://10.10.2.2:8080/ (blocked: the firewall answers 'administratively prohibited')"
if ip netns exec mbclient curl -sS -m 10 http://10.10.2.2:8080/ 2>&1; then
    echo "UNEXPECTED: port 8080 passed the firewall"; exit 1
fi
echo "refused, as configured"

step "mbctl chain show fwnat: packets of each hop, as its switch ports count them"
"$mbctl" chain show fwnat

step "mbctl chain down fwnat"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
pids=()
"$mbctl" chain down fwnat
echo "namespaces left: $(ip netns list | grep -cE '^(mbclient|mbserver|mbc-fwnat)( |$)' || true)"
echo "devices left:    $(ls /sys/class/net | grep -c '^fwnat-' || true)"
