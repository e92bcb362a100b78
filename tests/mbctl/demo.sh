#!/usr/bin/env bash
# make demo: a firewall VM between two network namespaces. Boots it with
# `mbctl boot`, pings through it, shows a blocked port, reads its
# counters, stops it. Needs root, QEMU and the guest image (make image).
set -euo pipefail
MBCTL=${MBCTL:-target/release/mbctl}
export MBCTL_RUN_DIR=${MBCTL_RUN_DIR:-/run/mbctl-demo}
IN=mbdemo-in OUT=mbdemo-out
cleanup() {
    $MBCTL destroy firewall-vm >/dev/null 2>&1 || true
    $MBCTL agent stop >/dev/null 2>&1 || true
    ip netns pids $OUT 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del $IN 2>/dev/null || true
    ip netns del $OUT 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add $IN
ip netns add $OUT
set -x
$MBCTL boot click-configs/firewall-vm.click --nic netns:$IN --nic netns:$OUT --accel tcg
{ set +x; } 2>/dev/null
ip -n $IN addr add 10.0.0.1/24 dev eth0
ip -n $OUT addr add 10.0.0.2/24 dev eth1
ip netns exec $OUT python3 -m http.server 80 >/dev/null 2>&1 &
ip netns exec $OUT python3 -m http.server 8080 >/dev/null 2>&1 &
# Until both listen (python3 starts slowly on a loaded machine).
for port in 80 8080; do
    for _ in $(seq 100); do
        ip netns exec $OUT ss -Htln "sport = :$port" | grep -q . && break
        sleep 0.1
    done
done
set -x
$MBCTL ls
ip netns exec $IN ping -c 3 -W 2 10.0.0.2
ip netns exec $IN curl -s -o /dev/null -w 'port 80: HTTP %{http_code}\n' http://10.0.0.2/
ip netns exec $IN curl -s -m 3 -o /dev/null http://10.0.0.2:8080/ || echo "port 8080: blocked"
$MBCTL read firewall-vm allowed.count
$MBCTL read firewall-vm denied.count
$MBCTL stop firewall-vm
{ set +x; } 2>/dev/null
