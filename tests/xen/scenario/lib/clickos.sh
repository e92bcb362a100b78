# ClickOS's store protocol from dom0's shell, with the real xenstore-*
# tools (the layout is /work/shared/DESIGN.md's; `mbctl` speaks the same).

# clickos_install DOMID NAME FILE: writes the config in 992-byte chunks,
# its name, then status Running (the guest loads it, again on each Running).
clickos_install() {
    local base="/local/domain/$1/data/clickos/0" i=0 args=()
    xenstore-rm "$base/config" 2>/dev/null
    while IFS= read -r -d '' chunk; do
        args+=("$base/config/$i" "$chunk")
        i=$((i + 1))
    done < <(python3 -c '
import sys
data = open(sys.argv[1], "rb").read()
for i in range(0, len(data), 992):
    sys.stdout.buffer.write(data[i:i + 992] + b"\0")
' "$3")
    xenstore-write "${args[@]}" "$base/config_name" "$2" "$base/status" Running
}

# clickos_read DOMID ELEMENT HANDLER: asks the guest for a read handler and
# prints the answer. Fails at once when the guest reports an error for it
# (ClickOS's elements/E/H/error: no such handler, or no router yet), and
# after 30 s without an answer.
clickos_read() {
    local base="/local/domain/$1/data/clickos/0" v
    local answer="$base/elements/$2/$3"
    xenstore-write "$answer" ""
    xenstore-rm "$answer/error" 2>/dev/null
    xenstore-write "$base/control/read/$2/$3" " "
    for _ in $(seq 150); do
        v=$(xenstore-read "$answer" 2>/dev/null)
        if [ -n "$v" ]; then
            echo "$v"
            return 0
        fi
        if v=$(xenstore-read "$answer/error" 2>/dev/null); then
            echo "clickos_read $2.$3: $v" >&2
            return 1
        fi
        sleep 0.2
    done
    return 1
}

# clickos_read_loaded DOMID ELEMENT HANDLER: clickos_read, again until the
# config written just before has loaded (its handler answers) or 60 s
# have passed. A config's load takes seconds on a slow host; a read
# arriving before it is answered "no router is running" or, in a swap,
# "no such handler" by the old router.
clickos_read_loaded() {
    local end=$(($(date +%s) + 60))
    while :; do
        clickos_read "$@" 2>/dev/null && return 0
        [ "$(date +%s)" -lt "$end" ] || break
        sleep 0.5
    done
    clickos_read "$@"
}

# clickos_status DOMID: the router's status node.
clickos_status() { xenstore-read "/local/domain/$1/data/clickos/0/status" 2>/dev/null; }
