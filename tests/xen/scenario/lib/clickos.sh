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
# prints the answer (fails after 30 s).
clickos_read() {
    local base="/local/domain/$1/data/clickos/0" v
    local answer="$base/elements/$2/$3"
    xenstore-write "$answer" ""
    xenstore-write "$base/control/read/$2/$3" " "
    for _ in $(seq 150); do
        v=$(xenstore-read "$answer" 2>/dev/null)
        if [ -n "$v" ]; then
            echo "$v"
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# clickos_status DOMID: the router's status node.
clickos_status() { xenstore-read "/local/domain/$1/data/clickos/0/status" 2>/dev/null; }
