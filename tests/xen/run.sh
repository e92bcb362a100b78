#!/bin/bash
# The nested-Xen test: boots a real Xen 4.17 host (Debian's hypervisor and
# dom0) under QEMU TCG, runs a scenario inside dom0 against our guest image,
# and prints one line: "xen-test: PASS" or "xen-test: FAIL (...)".
#
# Usage: tests/xen/run.sh [SCENARIO]   (default: tests/xen/scenario/main.sh;
#        the other scenario/*.sh files travel along, for main.sh to call)
# Env:   MB_XEN_CACHE  dom0 image cache (default: ~/.cache/mb/xen, outside
#                      the checkout so fresh clones on one machine share it)
#        MB_XEN_TIMEOUT seconds for all nested boots together (default: 660)
#        MB_XEN_BOOT_TIMEOUT seconds for dom0 to reach the scenario before the
#                      boot counts as stalled and the host is booted once
#                      more (default: 240)
#        MB_XEN_KEEP=1  keep the run directory (logs, payload disk); on a
#                      failure its logs are kept anyway (payload removed)
#        MB_MBCTL       the mbctl binary to copy in (default: target/release/mbctl)
# Needs: qemu-system-x86_64, debootstrap, e2fsprogs (mkfs.ext4, debugfs),
#        binutils (objcopy); `make xen-deps` installs them.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SCENARIO=${1:-$HERE/scenario/main.sh}
CACHE=${MB_XEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mb/xen}
TIMEOUT=${MB_XEN_TIMEOUT:-660}
BOOT_TIMEOUT=${MB_XEN_BOOT_TIMEOUT:-240}
BOOT_ATTEMPTS=2
# A second boot is worth starting only with room for a slow boot and the
# scenario (typically 1.5-3.5 min together).
RETRY_MIN=300
IMAGE=${MB_IMAGE:-$ROOT/images/mb.elf}

t0=$(date +%s)
RUN=
QEMU_PID=
# The current boot's logs: QEMU's own (why it exited: a bad -drive, an
# unsupported option) and the serial line (Xen and dom0).
QEMU_LOG=
SERIAL=
logs_shown=
show_logs() {
    [ -z "$logs_shown" ] && [ -n "$QEMU_LOG" ] || return 0
    logs_shown=1
    if [ -s "$QEMU_LOG" ]; then
        echo "---- QEMU's log (tail of $QEMU_LOG)"
        tail -20 "$QEMU_LOG"
    fi
    if [ -f "$SERIAL" ]; then
        echo "---- serial (tail of $SERIAL)"
        grep -a -v '^(XEN) HVM d[0-9]' "$SERIAL" | tail -40 | tr -d '\r' || true
    else
        echo "---- no serial log: QEMU exited before opening $SERIAL"
    fi
}
fail() {
    show_logs
    echo "xen-test: FAIL ($*)"
    exit 1
}
[ -f "$IMAGE" ] || fail "no guest image at $IMAGE (make image)"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing"

mkdir -p "$CACHE"
# build-dom0.sh prints the image's directory on stdout and nothing else.
DOM0=$("$HERE/build-dom0.sh" "$CACHE") || fail "dom0 image build failed"
for f in xen.elf vmlinuz initrd.img dom0.ext4; do
    [ -f "$DOM0/$f" ] || fail "build-dom0.sh gave '$DOM0', which has no $f"
done
t_dom0=$(date +%s)

RUN=$(mktemp -d "$CACHE/run.XXXXXX")
cleanup() {
    local rc=$?
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    # Also for an exit that did not go through fail (set -e).
    [ "$rc" = 0 ] || show_logs
    if [ "${MB_XEN_KEEP:-0}" = 1 ]; then
        echo "xen-test: run directory kept: $RUN" >&2
    elif [ "$rc" != 0 ]; then
        rm -rf "$RUN/payload" "$RUN/payload.ext4"
        echo "xen-test: logs kept in $RUN" >&2
    else
        rm -rf "$RUN"
    fi
}
trap cleanup EXIT

# The payload disk: guest image, tools, scenario. dom0's mb-test service
# mounts it and runs scenario.sh. Made afresh for every boot, so a retried
# boot never sees what an earlier one left on it.
MB_MBCTL=${MB_MBCTL:-$ROOT/target/release/mbctl}
make_payload() {
    local pay="$RUN/payload"
    rm -rf "$pay" "$RUN/payload.ext4"
    mkdir -p "$pay"
    cp "$IMAGE" "$pay/mb.elf"
    cp "$HERE"/scenario/*.sh "$pay/"
    cp "$SCENARIO" "$pay/scenario.sh"
    cp "$HERE/scenario/dom0-run" "$pay/dom0-run"
    cp -r "$HERE/scenario/lib" "$pay/lib"
    cp -r "$HERE/scenario/configs" "$pay/configs"
    if [ -x "$MB_MBCTL" ]; then
        # Without its debug info: the binary is copied into a small disk.
        objcopy --strip-debug "$MB_MBCTL" "$pay/mbctl"
    fi
    [ -d "$ROOT/xen-cfg" ] && cp -r "$ROOT/xen-cfg" "$pay/xen-cfg"
    [ -d "$ROOT/click-configs" ] && cp -r "$ROOT/click-configs" "$pay/click-configs"
    # mkfs.ext4 -q still says "Creating regular file" on stdout.
    mkfs.ext4 -q -F -L mbtest -d "$pay" "$RUN/payload.ext4" 256M >/dev/null
}

# One CPU for the nested host, one vCPU for dom0. With two, every TLB
# shootdown, IPI and PV spinlock in Xen and dom0 waits on the other
# vCPU's QEMU thread; on a host whose two cores are busy with other work
# that thread is often not running, so the waits stretch to seconds: dom0
# booted 1.5-2x slower (175-235 s against 117-147 s at load 9-13),
# `xl create` took 14 s instead of 3 s, and one boot stalled for good with
# soft lockups. A single vCPU has nobody to wait for.
XEN_ARGS="console=com1 com1=115200,8n1 dom0_mem=512M,max:512M dom0_max_vcpus=1 loglvl=all guest_loglvl=all noreboot"
DOM0_ARGS="root=/dev/vda rw console=hvc0 quiet"
start_qemu() {
    QEMU_LOG="$RUN/qemu-attempt$attempt.log"
    SERIAL="$RUN/serial-attempt$attempt.log"
    logs_shown=
    qemu-system-x86_64 \
        -accel tcg,tb-size=256 -M q35 -cpu qemu64,+svm,+npt -smp 1 -m 1536 \
        -display none -monitor none -no-reboot -serial "file:$SERIAL" \
        -kernel "$DOM0/xen.elf" -append "$XEN_ARGS" \
        -initrd "$DOM0/vmlinuz $DOM0_ARGS,$DOM0/initrd.img" \
        -drive "file=$DOM0/dom0.ext4,if=virtio,format=raw,snapshot=on" \
        -drive "file=$RUN/payload.ext4,if=virtio,format=raw" \
        >"$QEMU_LOG" 2>&1 &
    QEMU_PID=$!
}
stop_qemu() {
    kill "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
    QEMU_PID=
}

# A boot that never reaches the scenario (no "mb-test: running scenario"
# within BOOT_TIMEOUT, or QEMU gone without a result line) says nothing
# about our guest: the nested dom0 stalled. That boot is thrown away and
# the host booted once more, if the budget allows. Once the scenario has
# started, its result stands: a failure or a hang there is never retried.
result=
started=
attempt=1
deadline=$((t_dom0 + TIMEOUT))
while :; do
    make_payload
    t_boot=$(date +%s)
    start_qemu
    boot_deadline=$((t_boot + BOOT_TIMEOUT))
    while now=$(date +%s) && [ "$now" -lt "$deadline" ]; do
        if grep -q "MB-XEN-RESULT:" "$SERIAL" 2>/dev/null; then
            result=$(grep -a -m1 -o "MB-XEN-RESULT: [A-Z]*.*" "$SERIAL" | tr -d '\r')
            break
        fi
        if [ -z "$started" ] && grep -q "mb-test: running scenario" "$SERIAL" 2>/dev/null; then
            started=$now
            echo "xen-test: dom0 up, scenario started $((now - t_boot)) s after QEMU start (attempt $attempt)"
        fi
        [ -n "$started" ] || [ "$now" -lt "$boot_deadline" ] || break
        kill -0 "$QEMU_PID" 2>/dev/null || break
        sleep 2
    done
    [ -z "$result" ] && [ -z "$started" ] || break
    left=$((deadline - $(date +%s)))
    if kill -0 "$QEMU_PID" 2>/dev/null; then
        why="dom0 did not reach the scenario within ${BOOT_TIMEOUT} s"
    else
        why="QEMU exited before dom0 reached the scenario"
    fi
    echo "xen-test: boot attempt $attempt: $why (a stalled nested boot, not a test result)"
    stop_qemu
    show_logs
    if [ "$attempt" -ge "$BOOT_ATTEMPTS" ] || [ "$left" -lt "$RETRY_MIN" ]; then
        fail "$why, $attempt boot(s), ${left} s of the ${TIMEOUT} s budget left"
    fi
    attempt=$((attempt + 1))
    echo "xen-test: booting the nested host again (attempt $attempt of $BOOT_ATTEMPTS, ${left} s left)"
done
# Let dom0 finish powering off (the payload disk is unmounted already).
for _ in $(seq 15); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 1; done
t_end=$(date +%s)

# The scenario's own log and Xen's log, read from the payload disk without mounting it.
for f in scenario.log xl-dmesg.log; do
    debugfs -R "cat /$f" "$RUN/payload.ext4" >"$RUN/$f" 2>/dev/null || true
done
echo "xen-test: dom0 image $((t_dom0 - t0)) s, nested run $((t_end - t_dom0)) s"
case "$result" in
*PASS*)
    grep -a '^\(mb-test\|  \|ok\|bench\)' "$RUN/scenario.log" || true
    echo "xen-test: PASS"
    ;;
*)
    show_logs
    echo "---- scenario.log (tail)"
    tail -60 "$RUN/scenario.log" || true
    echo "---- guest lines in xl dmesg"
    grep -a '(d[1-9]' "$RUN/xl-dmesg.log" | tail -40 || true
    if [ -n "$result" ]; then fail "scenario: $result"; fi
    if [ -n "$started" ]; then fail "scenario started but gave no result within the ${TIMEOUT} s budget"; fi
    fail "QEMU exited without a result line"
    ;;
esac
