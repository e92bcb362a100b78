# Helpers for scenarios run inside the nested dom0 (sourced, bash).
# Every check prints "ok - ..." or "not ok - ..." and a failed check ends
# the scenario with status 1 after cleanup.

MB_DIR=${MB_DIR:-/mnt/mb}
XEN_BIN=/usr/lib/xen-4.17/bin
export PATH=$PATH:$XEN_BIN:/usr/sbin:/sbin
CONS_LOG_DIR=/tmp/xen-console

step() { echo "mb-test: [$(cut -d' ' -f1 /proc/uptime)] $*"; }
ok() { echo "ok - $*"; }
die() {
    echo "not ok - $*"
    exit 1
}
# check DESC CMD...: runs CMD, fails the scenario if it fails.
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else die "$desc"; fi
}
now_ms() { date +%s%3N; }

# Waits until xenstored answers (the xen init script starts it).
wait_xenstored() {
    for _ in $(seq 120); do
        xenstore-read /local/domain/0/name >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    return 1
}

# Restarts xenconsoled so that it logs every guest's console ring to a file.
console_logging() {
    mkdir -p "$CONS_LOG_DIR"
    if [ -f /run/xenconsoled.pid ]; then
        kill "$(cat /run/xenconsoled.pid)" 2>/dev/null || true
        sleep 0.5
    fi
    # From / so that the daemon does not keep the payload disk busy.
    (cd / && "$XEN_BIN/xenconsoled" --pid-file=/run/xenconsoled.pid --log=guest --log-dir="$CONS_LOG_DIR")
}

# Debian's vif-bridge runs dozens of programs; under TCG on a loaded
# machine each fork+exec in the PV dom0 can take seconds, past libxl's
# hotplug timeout. The lean script does the same job for bridges in three.
# Bind-mounted over the stock one, so `xl create` from any tool (mbctl
# included) uses it unchanged.
fast_hotplug() {
    mount --bind "$MB_DIR/lib/vif-lean" /etc/xen/scripts/vif-bridge
}

# Two bridges, each with a dual-stack namespace host behind a veth:
#   ns1 (10.0.0.1, fd00::1) - xbr0 - [vif0 middlebox vif1] - xbr1 - ns2 (10.0.0.2, fd00::2)
# The IPv6 addresses skip duplicate address detection (usable at once) and
# the hosts take no router advertisements. The bridges flood multicast
# rather than snoop MLD, so neighbour solicitations to a 33:33:ff:... MAC
# reach the middlebox whatever MLD reports the bridge has or has not seen.
net_up() {
    local i
    for i in 0 1; do
        ip link add "xbr$i" type bridge
        ip link set "xbr$i" type bridge forward_delay 0 stp_state 0 mcast_snooping 0
        ip link set "xbr$i" up
        ip netns add "ns$((i + 1))"
        ip link add "h$i" type veth peer name eth0 netns "ns$((i + 1))"
        ip link set "h$i" master "xbr$i" up
        ip netns exec "ns$((i + 1))" sysctl -qw net.ipv6.conf.eth0.accept_ra=0
        ip -n "ns$((i + 1))" addr add "10.0.0.$((i + 1))/24" dev eth0
        ip -n "ns$((i + 1))" addr add "fd00::$((i + 1))/64" dev eth0 nodad
        ip -n "ns$((i + 1))" link set eth0 up
        ip -n "ns$((i + 1))" link set lo up
    done
}

net_down() {
    # A process left in a namespace (a scenario's listeners) keeps it, and
    # its veth peer h0/h1, alive after `ip netns del`: the next net_up
    # would find h0/h1 taken and wire the old namespace in.
    local pids
    pids=$(ip netns pids ns1 2>/dev/null; ip netns pids ns2 2>/dev/null)
    [ -n "$pids" ] && kill $pids 2>/dev/null
    ip netns del ns1 2>/dev/null || true
    ip netns del ns2 2>/dev/null || true
    ip link del xbr0 2>/dev/null || true
    ip link del xbr1 2>/dev/null || true
    # The namespaces, and with them h0/h1, go away asynchronously.
    for _ in $(seq 50); do
        ip link show h0 >/dev/null 2>&1 || ip link show h1 >/dev/null 2>&1 || return 0
        sleep 0.2
    done
}

# Both ends' view of domain DOMID's vifs, for a guest that did not come up.
vif_states() {
    [ -n "$1" ] || return 0
    xenstore-ls -f "/local/domain/$1/device/vif" 2>&1 | sed 's/^/  frontend| /'
    xenstore-ls -f "/local/domain/0/backend/vif/$1" 2>&1 | sed 's/^/  backend| /'
}

# domid NAME: prints the domain id, fails if there is no such domain.
domid() { xl domid "$1" 2>/dev/null; }

# wait_log FILE PATTERN SECONDS
wait_log() {
    local end=$(($(date +%s) + $3))
    while [ "$(date +%s)" -lt "$end" ]; do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# Guest lines of `xl dmesg` (port 0xE9 output) for domain DOMID.
guest_dmesg() { xl dmesg | grep -a "(d$1)" | sed 's/^.*(d[0-9]*) //'; }

# What to look at when a domain does not come up.
diagnose() {
    step "diagnostics"
    echo "  modules: $(lsmod | awk '/xen/ {printf "%s ", $1}')"
    echo "  fork+exec of /bin/true: $( { time -p /bin/true; } 2>&1 | awk '/real/ {print $2}') s"
    echo "  fork+exec of xenstore-read: $( { time -p xenstore-read /local/domain/0/name >/dev/null; } 2>&1 | awk '/real/ {print $2}') s"
    tail -30 /var/log/xen/xen-hotplug.log 2>/dev/null | sed 's/^/  hotplug| /'
    ls /var/log/xen/ | sed 's/^/  logdir| /'
    tail -20 /var/log/xen/xl-*.log 2>/dev/null | sed 's/^/  xl| /'
}
