# Top-level build. Sections are owned by different parts of the project;
# keep each self-contained.

.PHONY: all
all: image

# ---------------------------------------------------------------------------
# Guest image (unikernel/kernel): `make image` writes the generic
# images/mb.elf, which takes its config from the store.
# `make image CONFIG=click-configs/x.click NAME=x` writes images/x.elf with
# x.click baked in, run when the VM has no store (NAME defaults to the
# config's base name). Baked images build in their own target directory so
# the generic build stays as it is.
# The kernel is its own cargo project (target x86_64-unknown-none, see
# unikernel/kernel/.cargo/config.toml), excluded from the root workspace.
# ---------------------------------------------------------------------------
KERNEL_DIR  := unikernel/kernel
KERNEL_ELF  := $(KERNEL_DIR)/target/x86_64-unknown-none/release/mb
BAKED_DIR   := $(CURDIR)/$(KERNEL_DIR)/target/baked
HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
CONFIG      ?=
NAME        ?= $(basename $(notdir $(CONFIG)))

.PHONY: image guest-deps guest-check test-guest
image:
ifeq ($(strip $(CONFIG)),)
	cd $(KERNEL_DIR) && MB_CONFIG= cargo build --release
	mkdir -p images
	cp $(KERNEL_ELF) images/mb.elf
else
	test -f $(CONFIG) || (echo "CONFIG=$(CONFIG): no such file" >&2; exit 1)
	cd $(KERNEL_DIR) && MB_CONFIG=$(abspath $(CONFIG)) CARGO_TARGET_DIR=$(BAKED_DIR) cargo build --release
	mkdir -p images
	cp $(BAKED_DIR)/x86_64-unknown-none/release/mb images/$(NAME).elf
endif

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

# Boots the images under QEMU (TCG unless MB_ACCEL says kvm or all: see
# tests/qemu/src/lib.rs for why).
test-guest: guest-check
	$(MAKE) image
	$(MAKE) image CONFIG=click-configs/guest-firewall.click
	MB_IMAGE=$(CURDIR)/images/mb.elf MB_BAKED_IMAGE=$(CURDIR)/images/guest-firewall.elf \
	  cargo test -p mb-tests-qemu -- --test-threads=2

# ---------------------------------------------------------------------------
# Dependencies: `make deps` installs everything the project needs on a
# Debian 12 machine (idempotent; apt runs only for missing packages).
# ---------------------------------------------------------------------------
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEB_PACKAGES := build-essential pkg-config git ca-certificates curl python3 \
	tcpdump iproute2 iputils-ping iperf3 ethtool \
	qemu-system-x86 openvswitch-switch xenstore-utils libxen-dev \
	debootstrap e2fsprogs binutils python3-matplotlib

.PHONY: deps deb-deps rust-deps
deps: deb-deps rust-deps

deb-deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; \
	fi

rust-deps:
	@command -v rustup >/dev/null || { echo "rustup is required (the stable Rust toolchain is installed with rustup)"; exit 1; }
	rustup target add x86_64-unknown-none
	rustup component add rust-src rustfmt clippy

# ---------------------------------------------------------------------------
# Host build and tests. `make test` is the full suite: every crate's unit
# and integration tests (tests/host runs `mbctl` on the Click conformance
# cases in ../shared/conformance and on real clients in network
# namespaces; tests/qemu, tests/mbctl and tests/chains boot real guests),
# the kernel's own unit tests and lints, and the nested-Xen test
# (`make test-xen`, root: 3-5 min with its dom0 image cached, plus ~5.5 min
# the first time it builds that image). `make conformance` runs all 13
# cases and fails unless every one passes.
# ---------------------------------------------------------------------------
CONFORMANCE_DIR ?= $(firstword $(wildcard $(abspath $(CURDIR)/../shared/conformance $(CURDIR)/../../shared/conformance)))
MBCTL := target/debug/mbctl

.PHONY: build test conformance
build:
	cargo build --workspace

test: build
	cargo test --workspace
	$(MAKE) guest-check
	$(MAKE) fuzz-replay
	$(MAKE) test-xen

conformance: build
	$(CONFORMANCE_DIR)/run.sh $(MBCTL)

# ---------------------------------------------------------------------------
# Benchmarks: every bench target of the workspace, each printing its table
# (the host runner's packet paths against Click's figures, the store's
# round trips ...).
# ---------------------------------------------------------------------------
.PHONY: bench
bench:
	cargo bench --workspace

# ---------------------------------------------------------------------------
# Fuzzing: a bounded run of every cargo-fuzz target under tests/fuzz
# (FUZZ_SECONDS each, default 60). New inputs go to target/fuzz-corpus;
# the committed corpora and seeds are read only. cargo-fuzz needs
# RUSTC_BOOTSTRAP=1 on the stable toolchain for its sanitizer flags.
# ---------------------------------------------------------------------------
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = $(basename $(notdir $(wildcard tests/fuzz/fuzz_targets/*.rs)))

.PHONY: fuzz fuzz-deps
fuzz-deps:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

fuzz: fuzz-deps
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
		mkdir -p target/fuzz-corpus/$$t; \
		seeds=""; for d in tests/fuzz/corpus/$$t tests/fuzz/seeds/$$t; do \
			if [ -d $$d ]; then seeds="$$seeds $$d"; fi; done; \
		RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir tests/fuzz $$t \
			target/fuzz-corpus/$$t $$seeds -- -max_total_time=$(FUZZ_SECONDS); \
	done

# Every committed corpus and seed file through every fuzz target's body,
# as an ordinary test (tests/fuzz/tests/replay.rs): no cargo-fuzz, no
# libFuzzer, no nightly flags; seconds once built.
.PHONY: fuzz-replay
fuzz-replay:
	cargo test --manifest-path tests/fuzz/Cargo.toml --no-default-features \
		--target-dir target/fuzz-replay

# ---------------------------------------------------------------------------
# Lints: formatting and clippy, warnings are errors.
# ---------------------------------------------------------------------------
.PHONY: check
check:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

# ---------------------------------------------------------------------------
# Demo: a firewall middlebox VM (click-configs/firewall-vm.click) booted
# with `mbctl boot` between two network namespaces: ping and web pass, a
# blocked port, counters read with `mbctl read`, then `mbctl stop`
# (tests/mbctl/demo.sh; root, QEMU and the guest image). Without root it
# runs the stateless firewall on its shipped trace with `mbctl run`.
# ---------------------------------------------------------------------------
DEMO_OUT ?= $(CURDIR)/target/demo

.PHONY: demo demo-deps
demo-deps:
	@command -v cargo >/dev/null || $(MAKE) rust-deps
	@command -v cc >/dev/null || $(MAKE) deb-deps

demo: demo-deps
	cargo build --release -p mbctl
	@if [ "$$(id -u)" = 0 ]; then \
		$(MAKE) guest-deps image && MBCTL=target/release/mbctl tests/mbctl/demo.sh; \
	else \
		echo "(not root: running the firewall on a trace instead of in a VM)"; \
		rm -rf $(DEMO_OUT) && mkdir -p $(DEMO_OUT) && \
		target/release/mbctl run --simtime click-configs/firewall.click \
			IN=click-configs/demo.pcap OUT=$(DEMO_OUT); \
	fi
	$(MAKE) demo-chain

# ---------------------------------------------------------------------------
# Chains (click-configs/chains): `make demo-chain` brings firewall -> NAT
# up between two network namespaces with `mbctl chain`, one middlebox VM
# per hop, shows ping, a
# refused port, an HTTP fetch through the NAT and each hop's counters, and
# takes it all down. Needs root (CI runs as root). The chain benchmark runs
# with `make bench` (tests/chains/benches/chains.rs).
# ---------------------------------------------------------------------------
.PHONY: demo-chain
demo-chain:
	@if [ "$$(id -u)" != 0 ]; then \
		echo "demo-chain: needs root (network namespaces, Open vSwitch): sudo make demo-chain"; \
	else \
		command -v ovs-vswitchd >/dev/null || [ -x /usr/sbin/ovs-vswitchd ] || $(MAKE) deb-deps; \
		$(MAKE) image && cargo build --release -p mbctl && click-configs/chains/demo.sh target/release/mbctl; \
	fi

# ---------------------------------------------------------------------------
# Xen (tests/xen): the guest on a real Xen 4.17 host nested under QEMU TCG.
# `make test-xen` builds (and caches, under ~/.cache/mb/xen) a Debian dom0
# image from packages, boots Xen with it, runs tests/xen/scenario/main.sh
# inside dom0 against images/mb.elf, and prints "xen-test: PASS|FAIL".
# A dom0 that never reaches the scenario (a stalled nested boot) is booted
# once more; a scenario failure is never retried (tests/xen/README.md).
# ---------------------------------------------------------------------------
XEN_PACKAGES := qemu-system-x86 debootstrap e2fsprogs binutils

.PHONY: test-xen bench-xen xen-deps
xen-deps:
	@missing=$$(for p in $(XEN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; \
	fi

test-xen: image xen-deps
	cargo build --release -p mbctl
	tests/xen/run.sh

# Nested, so only ratios and counts mean much: xl create -> ready time and
# the smallest memory= the guest runs with.
bench-xen: image xen-deps
	tests/xen/run.sh tests/xen/scenario/bench.sh

