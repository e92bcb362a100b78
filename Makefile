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
# What `make image` wrote, for its last line: path, size, where its config comes from.
image-built = @echo "image: $(1), $$(stat -c %s $(1)) bytes ($$(du -h $(1) | cut -f1)), $(2)"

image:
ifeq ($(strip $(CONFIG)),)
	cd $(KERNEL_DIR) && MB_CONFIG= cargo build --release
	mkdir -p images
	cp $(KERNEL_ELF) images/mb.elf
	$(call image-built,images/mb.elf,config from the store at boot)
else
	test -f $(CONFIG) || (echo "CONFIG=$(CONFIG): no such file" >&2; exit 1)
	cd $(KERNEL_DIR) && MB_CONFIG=$(abspath $(CONFIG)) CARGO_TARGET_DIR=$(BAKED_DIR) cargo build --release
	mkdir -p images
	cp $(BAKED_DIR)/x86_64-unknown-none/release/mb images/$(NAME).elf
	$(call image-built,images/$(NAME).elf,$(CONFIG) baked in)
endif

# Toolchain target and QEMU for building and booting the guest.
guest-deps: rust-deps
	$(call apt-install,qemu-system-x86)

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
IS_ROOT := $(filter 0,$(shell id -u))
# $(call apt-install,PACKAGES): installs those of PACKAGES that are not
# installed; apt runs only then, so a second run costs one dpkg-query each.
# tests/mbctl/tests/demo.rs reads the list back from `make -n demo`.
define apt-install
@missing=$$(for p in $(1); do \
	[ "$$(dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null)" = installed ] || echo $$p; done); \
if [ -n "$$missing" ]; then \
	echo "installing:" $$missing; \
	$(SUDO) apt-get update && \
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; \
fi
endef
DEB_PACKAGES := build-essential pkg-config git ca-certificates curl python3 \
	tcpdump wireshark-common iproute2 iputils-ping iperf3 ethtool \
	qemu-system-x86 openvswitch-switch xenstore-utils libxen-dev \
	debootstrap e2fsprogs binutils python3-matplotlib time valgrind \
	traceroute

.PHONY: deps deb-deps rust-deps
deps: deb-deps rust-deps

deb-deps:
	$(call apt-install,$(DEB_PACKAGES))

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
# cases, then the golden cases kept in tests/golden, and fails unless every
# one passes.
# ---------------------------------------------------------------------------
CONFORMANCE_DIR ?= $(firstword $(wildcard $(abspath $(CURDIR)/../shared/conformance $(CURDIR)/../../shared/conformance)))
MBCTL := target/debug/mbctl

.PHONY: build test conformance
build:
	cargo build --workspace

# `deps` first (a no-op when all is there): a fresh machine has none of it.
test: deps
	$(MAKE) build
	cargo test --workspace
	$(MAKE) guest-check
	$(MAKE) fuzz-replay
	$(MAKE) test-xen

conformance: build
	$(CONFORMANCE_DIR)/run.sh $(MBCTL)
	tests/golden/run.sh $(MBCTL)

# ---------------------------------------------------------------------------
# Installing mbctl as a tool. `make man` writes target/man/*.1 from clap's
# definitions (mbctl.1 and one page per subcommand). `make install` puts,
# under $(DESTDIR)$(PREFIX):
#   bin/mbctl                              (cargo install --path)
#   share/mb/mb.elf                        (the guest image; `mbctl boot`
#                                           finds it next to bin/)
#   share/man/man1/mbctl*.1                (make man)
#   share/bash-completion/completions/mbctl, share/zsh/site-functions/_mbctl,
#   share/fish/vendor_completions.d/mbctl.fish
# `make uninstall` removes them.
# ---------------------------------------------------------------------------
PREFIX  ?= /usr/local
MAN_DIR := target/man
INSTALL_ROOT = $(DESTDIR)$(PREFIX)

.PHONY: man install uninstall
man:
	cargo run -q -p mbctl -- man $(MAN_DIR)

install: image man
	cargo install --locked --path toolstack/mbctl --root $(INSTALL_ROOT)
	install -D -m 644 images/mb.elf $(INSTALL_ROOT)/share/mb/mb.elf
	install -d $(INSTALL_ROOT)/share/man/man1
	install -m 644 $(MAN_DIR)/*.1 $(INSTALL_ROOT)/share/man/man1/
	install -d $(INSTALL_ROOT)/share/bash-completion/completions \
		$(INSTALL_ROOT)/share/zsh/site-functions $(INSTALL_ROOT)/share/fish/vendor_completions.d
	$(INSTALL_ROOT)/bin/mbctl completions bash > $(INSTALL_ROOT)/share/bash-completion/completions/mbctl
	$(INSTALL_ROOT)/bin/mbctl completions zsh > $(INSTALL_ROOT)/share/zsh/site-functions/_mbctl
	$(INSTALL_ROOT)/bin/mbctl completions fish > $(INSTALL_ROOT)/share/fish/vendor_completions.d/mbctl.fish

uninstall:
	-cargo uninstall --root $(INSTALL_ROOT) mbctl
	rm -f $(INSTALL_ROOT)/share/mb/mb.elf $(INSTALL_ROOT)/share/man/man1/mbctl*.1 \
		$(INSTALL_ROOT)/share/bash-completion/completions/mbctl \
		$(INSTALL_ROOT)/share/zsh/site-functions/_mbctl \
		$(INSTALL_ROOT)/share/fish/vendor_completions.d/mbctl.fish
	-rmdir $(INSTALL_ROOT)/share/mb

# ---------------------------------------------------------------------------
# Benchmarks: every bench target of the workspace, each printing its table
# (the host runner's packet paths, the store's round trips ...).
# `make bench-click CLICK=/path/to/click` runs the same configurations with
# Click's user-level driver and the release `mbctl run` in turn on a
# generated trace and prints medians and ratios (tests/bench/bench-click.py;
# BENCH_CLICK_ARGS passes more, e.g. --runs 9 or --no-callgrind). Click is
# not built here: the script's help says how.
# ---------------------------------------------------------------------------
.PHONY: bench bench-click
bench:
	cargo bench --workspace

CLICK ?=
BENCH_CLICK_ARGS ?=
bench-click:
	@test -n "$(CLICK)" || { echo "usage: make bench-click CLICK=/path/to/click (see tests/bench/bench-click.py --help)" >&2; exit 2; }
	cargo build --release -p mbctl
	python3 tests/bench/bench-click.py --click $(CLICK) --mbctl target/release/mbctl $(BENCH_CLICK_ARGS)

# Soak (not in CI): SOAK_BOOTS boot/destroy cycles of one middlebox and
# SOAK_CHAINS chain up/down cycles, then a leak check and the agent's RSS
# after the first cycle and at the end (tests/chains/examples/soak.rs).
# Needs root, QEMU and Open vSwitch.
SOAK_BOOTS  ?= 1000
SOAK_CHAINS ?= 100
.PHONY: soak
soak: image
	MB_IMAGE=$(CURDIR)/images/mb.elf cargo run --release -p mb-tests-chains --example soak -- $(SOAK_BOOTS) $(SOAK_CHAINS)

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
# nightly flags; seconds once built. The libFuzzer entry points are
# checked too (stable, no sanitizers), so every target builds in CI.
.PHONY: fuzz-replay
fuzz-replay:
	cargo test --manifest-path tests/fuzz/Cargo.toml --no-default-features \
		--target-dir target/fuzz-replay
	cargo check --manifest-path tests/fuzz/Cargo.toml --bins \
		--target-dir target/fuzz-replay

# ---------------------------------------------------------------------------
# Click's own example configurations: `mbctl check` over CLICK_SRC/conf
# (a Click source tree you fetched; never part of this repository),
# printing each failing file's first errors and how many pass.
# click-configs/CLICK-CONF.md lists the files that fail, and why.
# ---------------------------------------------------------------------------
.PHONY: check-click-conf
check-click-conf:
	@test -n "$(CLICK_SRC)" || { echo "usage: make check-click-conf CLICK_SRC=/path/to/click-source" >&2; exit 2; }
	cargo build -q -p mbctl
	click-configs/check-click-conf.sh "$(CLICK_SRC)" target/debug/mbctl

# ---------------------------------------------------------------------------
# Lints: formatting and clippy, warnings are errors; the crate graph of
# ARCHITECTURE.md against the code, and its forbidden dependencies
# (tests/architecture).
# ---------------------------------------------------------------------------
.PHONY: check
check:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo test -p mb-tests-architecture

# ---------------------------------------------------------------------------
# Demo: a firewall middlebox VM (click-configs/firewall-vm.click) booted
# with `mbctl boot` between two network namespaces: ping and web pass, a
# blocked port, counters read with `mbctl read`, then `mbctl stop`
# (tests/mbctl/demo.sh; root, QEMU and the guest image). Without root it
# runs the stateless firewall on its shipped trace with `mbctl run`.
# demo-deps installs everything both demos and mbctl under them run (the
# guest's Rust target, a C linker, QEMU, ip/ss/tc, ping, curl, python3's
# web server, Open vSwitch, ethtool, sysctl); tests/mbctl/tests/demo.rs checks the list against
# the commands the demo scripts call. No `$(MAKE)` line runs a demo, so
# `make -n demo` only prints.
# ---------------------------------------------------------------------------
DEMO_OUT ?= $(CURDIR)/target/demo
DEMO_PACKAGES := build-essential ca-certificates qemu-system-x86 iproute2 \
	iputils-ping curl python3 openvswitch-switch ethtool procps

.PHONY: demo demo-deps
demo-deps: rust-deps
	$(call apt-install,$(DEMO_PACKAGES))

demo: demo-deps
	cargo build --release -p mbctl
ifneq ($(IS_ROOT),)
	$(MAKE) image
	MBCTL=target/release/mbctl tests/mbctl/demo.sh
else
	@echo "(not root: running the firewall on a trace instead of in a VM)"
	rm -rf $(DEMO_OUT)
	target/release/mbctl run --simtime click-configs/firewall.click \
		IN=click-configs/demo.pcap OUT=$(DEMO_OUT)
endif
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
ifneq ($(IS_ROOT),)
demo-chain: demo-deps
	$(MAKE) image
	cargo build --release -p mbctl
	click-configs/chains/demo.sh target/release/mbctl
else
demo-chain:
	@echo "demo-chain: needs root (network namespaces, Open vSwitch): sudo make demo-chain"
endif

# `make demo-scale`: nat-scaled.toml, a NAT hop the controller scales out
# and in with its load, then replaces after a kill -9 (demo-scale.sh).
.PHONY: demo-scale
ifneq ($(IS_ROOT),)
demo-scale: demo-deps
	$(MAKE) image
	cargo build --release -p mbctl
	click-configs/chains/demo-scale.sh target/release/mbctl
else
demo-scale:
	@echo "demo-scale: needs root (network namespaces, Open vSwitch): sudo make demo-scale"
endif

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
	$(call apt-install,$(XEN_PACKAGES))

test-xen: image xen-deps
	cargo build --release -p mbctl
	tests/xen/run.sh

# Nested, so only ratios and counts mean much: xl create -> ready time and
# the smallest memory= the guest runs with.
bench-xen: image xen-deps
	tests/xen/run.sh tests/xen/scenario/bench.sh

