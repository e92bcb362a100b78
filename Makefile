# Top-level build. Sections are owned by different parts of the project;
# keep each self-contained.

.PHONY: all
all: image

# ---------------------------------------------------------------------------
# Guest image (unikernel/kernel): `make image` writes images/mb.elf.
# The kernel is its own cargo project (target x86_64-unknown-none, see
# unikernel/kernel/.cargo/config.toml), excluded from the root workspace.
# ---------------------------------------------------------------------------
KERNEL_DIR  := unikernel/kernel
KERNEL_ELF  := $(KERNEL_DIR)/target/x86_64-unknown-none/release/mb
HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')

.PHONY: image guest-deps guest-check test-guest
image:
	cd $(KERNEL_DIR) && cargo build --release
	mkdir -p images
	cp $(KERNEL_ELF) images/mb.elf

# Toolchain target and QEMU for building and booting the guest.
guest-deps:
	rustup target add x86_64-unknown-none
	command -v qemu-system-x86_64 >/dev/null || (apt-get update && apt-get install -y qemu-system-x86)

# Host unit tests of the kernel's pure modules, and lints for both targets.
guest-check:
	cd $(KERNEL_DIR) && cargo fmt --check
	cd $(KERNEL_DIR) && cargo test --target $(HOST_TRIPLE)
	cd $(KERNEL_DIR) && cargo clippy --release -- -D warnings
	cd $(KERNEL_DIR) && cargo clippy --target $(HOST_TRIPLE) --all-targets -- -D warnings

# Boots the image under QEMU (KVM and TCG when /dev/kvm works).
test-guest: image guest-check
	MB_IMAGE=$(CURDIR)/images/mb.elf MB_ACCEL=$${MB_ACCEL:-all} cargo test -p mb-tests-qemu -- --test-threads=2

# ---------------------------------------------------------------------------
# Xen (tests/xen): the guest on a real Xen 4.17 host nested under QEMU TCG.
# `make test-xen` builds (and caches, under target/xen-cache/) a Debian dom0
# image from packages, boots Xen with it, runs tests/xen/scenario/main.sh
# inside dom0 against images/mb.elf, and prints "xen-test: PASS|FAIL".
# ---------------------------------------------------------------------------
.PHONY: test-xen bench-xen xen-deps
xen-deps:
	command -v debootstrap >/dev/null && command -v mkfs.ext4 >/dev/null && command -v debugfs >/dev/null || \
		(apt-get update && apt-get install -y debootstrap e2fsprogs)
	command -v qemu-system-x86_64 >/dev/null || (apt-get update && apt-get install -y qemu-system-x86)

test-xen: image xen-deps
	tests/xen/run.sh

# Nested, so only ratios and counts mean much: xl create -> ready time and
# the smallest memory= the guest runs with.
bench-xen: image xen-deps
	tests/xen/run.sh tests/xen/scenario/bench.sh
