#!/bin/bash
# Builds (or reuses) the dom0 of the nested Xen test host from Debian
# packages only: a debootstrap tree turned into an ext4 image with
# `mkfs.ext4 -d` (no loop mounts), plus the Xen hypervisor, dom0 kernel and
# initrd taken out of that tree for QEMU's multiboot loader.
#
# Usage: build-dom0.sh CACHE_DIR   (prints the directory holding
#        xen.elf, vmlinuz, initrd.img and dom0.ext4 on stdout, and nothing
#        else: all progress, and anything the tools it runs print, goes
#        to stderr, so `DOM0=$(build-dom0.sh ...)` gets the path alone)
#
# The result is cached under CACHE_DIR/dom0-<key>, where the key hashes the
# package list and this script, so a changed recipe builds a fresh image.
set -euo pipefail

CACHE=${1:?usage: build-dom0.sh CACHE_DIR}
# fd 3 is the caller's stdout, kept for the one line that is the result;
# everything else (mkfs.ext4 prints "Creating regular file ..." on
# stdout) goes to stderr.
exec 3>&1 1>&2
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=bookworm
PACKAGES=(
    linux-image-amd64 xen-hypervisor-4.17-amd64 xen-utils-4.17 xenstore-utils
    systemd-sysv udev kmod iproute2 iputils-ping bridge-utils netcat-openbsd
    procps
)
IMAGE_MB=2048

key=$( (echo "${PACKAGES[*]}"; cat "$0" "$HERE/dom0/"*) | sha256sum | cut -c1-16)
OUT="$CACHE/dom0-$key"
if [ -f "$OUT/done" ]; then
    echo "$OUT" >&3
    exit 0
fi

for tool in debootstrap mkfs.ext4; do
    command -v "$tool" >/dev/null || {
        echo "build-dom0: $tool missing (apt-get install debootstrap e2fsprogs)"
        exit 1
    }
done

# The Debian mirror is whatever apt is configured with on this machine:
# never a host name written into the repository.
MIRROR=$(apt-get indextargets --format '$(SITE) $(CODENAME) $(TARGET_OF)' |
    awk -v s="$SUITE" '$2 == s && $3 == "deb" { print $1; exit }')
if [ -z "$MIRROR" ]; then
    echo "build-dom0: no apt source for Debian $SUITE (see /etc/apt/sources.list*)"
    exit 1
fi

rm -rf "$OUT"
mkdir -p "$OUT"
ROOT="$OUT/rootfs"
log="$OUT/debootstrap.log"
t0=$(date +%s)
echo "build-dom0: building dom0 disk (debootstrap, ~5 min, once) in $OUT"
echo "build-dom0: debootstrap $SUITE from $MIRROR (log: $log)"
incl=$(IFS=,; echo "${PACKAGES[*]}")
if ! debootstrap --variant=minbase --include="$incl" "$SUITE" "$ROOT" "$MIRROR" >"$log" 2>&1; then
    tail -30 "$log"
    echo "build-dom0: debootstrap failed"
    exit 1
fi

# dom0 configuration: root on the first virtio disk, console on Xen's
# hvc0, the test service that runs whatever the second disk carries.
echo "xen-dom0" > "$ROOT/etc/hostname"
echo "/dev/vda / ext4 defaults,noatime 0 1" > "$ROOT/etc/fstab"
sed -i 's/^root:[^:]*:/root::/' "$ROOT/etc/shadow"
cp "$HERE/dom0/mb-test.service" "$ROOT/etc/systemd/system/"
install -m 0755 "$HERE/dom0/mb-test-run" "$ROOT/usr/local/sbin/mb-test-run"
ln -sf /etc/systemd/system/mb-test.service "$ROOT/etc/systemd/system/multi-user.target.wants/mb-test.service"
# Nothing in the test needs these, and they slow a TCG boot down.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
    systemd-timesyncd.service xendomains.service; do
    ln -sf /dev/null "$ROOT/etc/systemd/system/$unit"
done
rm -rf "$ROOT/var/cache/apt/archives/"*.deb "$ROOT/var/lib/apt/lists/"*

zcat "$ROOT"/boot/xen-4.17-amd64.gz > "$OUT/xen.elf"
cp "$ROOT"/boot/vmlinuz-* "$OUT/vmlinuz"
cp "$ROOT"/boot/initrd.img-* "$OUT/initrd.img"

echo "build-dom0: debootstrap done after $(($(date +%s) - t0)) s; writing the ${IMAGE_MB} MiB ext4 image"
mkfs.ext4 -q -F -L dom0 -d "$ROOT" "$OUT/dom0.ext4" "${IMAGE_MB}M"
rm -rf "$ROOT"
touch "$OUT/done"
echo "build-dom0: dom0 disk ready in $(($(date +%s) - t0)) s: $OUT ($(du -sh "$OUT" | cut -f1) on disk)"
echo "$OUT" >&3
