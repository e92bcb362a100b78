#!/bin/bash
# The nested-Xen test: boots a real Xen 4.17 host (Debian's hypervisor and
# dom0) under QEMU TCG, runs a scenario inside dom0 against our guest image,
# and prints one line: "xen-test: PASS" or "xen-test: FAIL (...)".
#
# Usage: tests/xen/run.sh [SCENARIO]   (default: tests/xen/scenario/main.sh;
#        the other scenario/*.sh files travel along, for main.sh to call)
# Env:   MB_XEN_CACHE  dom0 image cache (default: ~/.cache/mb/xen, outside
#                      the checkout so fresh clones on one machine share it)
#        MB_XEN_TIMEOUT seconds for the whole nested run (default: 600)
#        MB_XEN_KEEP=1  keep the run directory (serial log, payload disk)
#        MB_MBCTL       the mbctl binary to copy in (default: target/release/mbctl)
# Needs: qemu-system-x86_64, debootstrap, e2fsprogs (mkfs.ext4, debugfs).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SCENARIO=${1:-$HERE/scenario/main.sh}
CACHE=${MB_XEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mb/xen}
TIMEOUT=${MB_XEN_TIMEOUT:-600}
IMAGE=${MB_IMAGE:-$ROOT/images/mb.elf}

t0=$(date +%s)
fail() {
    echo "xen-test: FAIL ($*)"
    exit 1
}
[ -f "$IMAGE" ] || fail "no guest image at $IMAGE (make image)"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing"

mkdir -p "$CACHE"
DOM0=$("$HERE/build-dom0.sh" "$CACHE") || fail "dom0 image build failed"
t_dom0=$(date +%s)

RUN=$(mktemp -d "$CACHE/run.XXXXXX")
QEMU_PID=
cleanup() {
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    if [ "${MB_XEN_KEEP:-0}" = 1 ]; then
        echo "xen-test: run directory kept: $RUN" >&2
    else
        rm -rf "$RUN"
    fi
}
trap cleanup EXIT

# The payload disk: guest image, tools, scenario. dom0's mb-test service
# mounts it and runs scenario.sh.
PAY="$RUN/payload"
mkdir -p "$PAY"
cp "$IMAGE" "$PAY/mb.elf"
cp "$HERE"/scenario/*.sh "$PAY/"
cp "$SCENARIO" "$PAY/scenario.sh"
cp "$HERE/scenario/dom0-run" "$PAY/dom0-run"
cp -r "$HERE/scenario/lib" "$PAY/lib"
cp -r "$HERE/scenario/configs" "$PAY/configs"
MB_MBCTL=${MB_MBCTL:-$ROOT/target/release/mbctl}
if [ -x "$MB_MBCTL" ]; then
    # Without its debug info: the binary is copied into a small disk.
    objcopy --strip-debug "$MB_MBCTL" "$PAY/mbctl"
fi
[ -d "$ROOT/xen-cfg" ] && cp -r "$ROOT/xen-cfg" "$PAY/xen-cfg"
[ -d "$ROOT/click-configs" ] && cp -r "$ROOT/click-configs" "$PAY/click-configs"
mkfs.ext4 -q -F -L mbtest -d "$PAY" "$RUN/payload.ext4" 256M

SERIAL="$RUN/serial.log"
XEN_ARGS="console=com1 com1=115200,8n1 dom0_mem=512M,max:512M dom0_max_vcpus=2 loglvl=all guest_loglvl=all noreboot"
DOM0_ARGS="root=/dev/vda rw console=hvc0 quiet"
qemu-system-x86_64 \
    -accel tcg,thread=multi,tb-size=256 -M q35 -cpu qemu64,+svm,+npt -smp 2 -m 1536 \
    -display none -monitor none -no-reboot -serial "file:$SERIAL" \
    -kernel "$DOM0/xen.elf" -append "$XEN_ARGS" \
    -initrd "$DOM0/vmlinuz $DOM0_ARGS,$DOM0/initrd.img" \
    -drive "file=$DOM0/dom0.ext4,if=virtio,format=raw,snapshot=on" \
    -drive "file=$RUN/payload.ext4,if=virtio,format=raw" \
    >"$RUN/qemu.log" 2>&1 &
QEMU_PID=$!

result=
deadline=$((t_dom0 + TIMEOUT))
while [ "$(date +%s)" -lt "$deadline" ]; do
    if grep -q "MB-XEN-RESULT:" "$SERIAL" 2>/dev/null; then
        result=$(grep -a -m1 -o "MB-XEN-RESULT: [A-Z]*.*" "$SERIAL" | tr -d '\r')
        break
    fi
    kill -0 "$QEMU_PID" 2>/dev/null || break
    sleep 2
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
    echo "---- serial (tail)"
    tail -40 "$SERIAL" | tr -d '\r'
    echo "---- scenario.log (tail)"
    tail -60 "$RUN/scenario.log" || true
    echo "---- guest lines in xl dmesg"
    grep -a '(d[1-9]' "$RUN/xl-dmesg.log" | tail -40 || true
    if [ -n "$result" ]; then fail "scenario: $result"; fi
    fail "no result line within ${TIMEOUT}s"
    ;;
esac
