# Rusty Audio — `make run` plays, `make test` tests. Both work on a bare Debian 12 machine: they
# install the system packages they need (apt-get; as root, or through sudo) and start what the
# tests need (a private PulseAudio server with a null sink).

SHELL := /bin/bash
CARGO ?= cargo
SHARED_MEDIA := $(abspath ../shared/media/make_media.sh)
MEDIA := $(CURDIR)/target/media

# A private runtime dir: the test sound server never meets a desktop user's own. Kept short and in
# /tmp because a unix socket path may not exceed 108 bytes.
export XDG_RUNTIME_DIR := /tmp/rusty-audio-test-$(shell id -u)
export PULSE_SERVER := unix:$(XDG_RUNTIME_DIR)/pulse/native
export RUSTY_AUDIO_MEDIA := $(MEDIA)

BUILD_PKGS := pkg-config libasound2-dev gcc
TEST_PKGS := sox libsox-fmt-all ffmpeg flac pulseaudio pulseaudio-utils

# Install the Debian packages in $(1) that are not installed yet.
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:" $$missing; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

.PHONY: run test deps test-deps media pulse demo clean-media bench peers

deps:
	$(call apt_install,$(BUILD_PKGS))
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)"; exit 1; }

test-deps: deps
	$(call apt_install,$(TEST_PKGS))

# Play the bundled demo (or FILES="a.flac b.mp3"). Falls back to the null output without a device.
run: deps
	$(CARGO) run --locked -- $(FILES)

media: test-deps
	@if [ ! -f $(MEDIA)/prog.flac ]; then bash $(SHARED_MEDIA) $(MEDIA) >/dev/null; fi

pulse: test-deps
	@bash scripts/start_pulse.sh

test: test-deps media pulse
	$(CARGO) test --locked

# Criterion benches, `rusty-audio bench` and the peer comparison (numbers for PERFORMANCE_GUIDE.md).
bench: test-deps media
	$(CARGO) bench --locked --bench dsp --bench analysis --bench chain
	$(CARGO) run --release --locked -- bench

peers: test-deps media
	bash scripts/compare_peers.sh

demo: test-deps
	bash scripts/make_demo.sh assets/demo.flac

clean-media:
	rm -rf $(MEDIA)
