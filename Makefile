# Rusty Audio — `make run` plays, `make test` tests. Both work on a bare Debian 12 machine: they
# install the system packages they need (apt-get; as root, or through sudo) and start what the
# tests need (a private PipeWire server with a null sink).

SHELL := /bin/bash
CARGO ?= cargo
SHARED_MEDIA := $(abspath ../shared/media/make_media.sh)
MEDIA := $(CURDIR)/target/media

# The test sound server lives in a private runtime dir (kept short and in /tmp: a unix socket path
# may not exceed 108 bytes). Only the targets that test or measure see it: `run` must reach the
# user's own sound server, Wayland socket and session bus, which live in the caller's
# XDG_RUNTIME_DIR, so it gets the caller's environment unchanged (tests/makefile.rs checks this).
TEST_RUNTIME_DIR := /tmp/rusty-audio-test-$(shell id -u)
TEST_TARGETS := test sound-server soak measure-app measure-library bench peers media screenshots
$(TEST_TARGETS): export XDG_RUNTIME_DIR := $(TEST_RUNTIME_DIR)
$(TEST_TARGETS): export PULSE_SERVER := unix:$(TEST_RUNTIME_DIR)/pulse/native
# libpipewire and cpal look in PIPEWIRE_RUNTIME_DIR before XDG_RUNTIME_DIR, and PIPEWIRE_REMOTE may
# name a desktop's socket: both point at the test server too.
$(TEST_TARGETS): export PIPEWIRE_RUNTIME_DIR := $(TEST_RUNTIME_DIR)
$(TEST_TARGETS): export PIPEWIRE_REMOTE := pipewire-0
$(TEST_TARGETS): export RUSTY_AUDIO_MEDIA := $(MEDIA)

# libpipewire-0.3-dev and libclang-dev: cpal's PipeWire host (the default on Linux) is built with
# bindgen against libpipewire. libopus-dev: Opus is decoded by the system's libopus.
BUILD_PKGS := pkg-config libasound2-dev gcc libpipewire-0.3-dev libclang-dev libopus-dev
# Loaded at run time by the window (winit/wgpu via EGL on Mesa); nothing extra is needed to build.
GUI_PKGS := libegl1 libegl-mesa0 libgl1-mesa-dri libxkbcommon-x11-0 libx11-xcb1 libxcursor1 libxi6 libxrandr2 libfontconfig1
# The test sound server is PipeWire (+ WirePlumber, pipewire-pulse for parec/pactl, dbus-daemon for
# WirePlumber); pulseaudio itself for the tests of the native PulseAudio host; rtkit and polkitd
# for the real-time grant test (tests/realtime.rs).
TEST_PKGS := sox libsox-fmt-all ffmpeg flac opus-tools playerctl openbox desktop-file-utils appstream pipewire pipewire-bin pipewire-pulse wireplumber dbus-daemon dbus-bin rtkit polkitd pulseaudio pulseaudio-utils libasound2-plugins alsa-utils strace xvfb imagemagick xdotool $(GUI_PKGS)

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

.PHONY: run test deps test-deps media sound-server demo clean-media bench peers measure-app measure-library soak screenshots fuzz install uninstall

deps:
	$(call apt_install,$(BUILD_PKGS))
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)"; exit 1; }

test-deps: deps
	$(call apt_install,$(TEST_PKGS))

# Open the app with the bundled demo playing (or FILES="a.flac b.mp3"). Without a display it says
# how to use `play`/`analyze`; without an audio device it plays to the null output.
run: deps
	$(call apt_install,$(GUI_PKGS))
	$(CARGO) run --locked -- $(FILES)

media: test-deps
	@if [ ! -f $(MEDIA)/prog.flac ]; then bash $(SHARED_MEDIA) $(MEDIA) >/dev/null; fi

sound-server: test-deps
	@bash scripts/start_sound_server.sh

test: test-deps media sound-server
	$(CARGO) test --locked

# Criterion benches, `rusty-audio bench` and the peer comparison (numbers for PERFORMANCE_GUIDE.md).
bench: test-deps media
	$(CARGO) bench --locked --bench dsp --bench analysis --bench chain
	$(CARGO) run --release --locked -- bench

peers: test-deps media
	bash scripts/compare_peers.sh

# 60 s through the test server's null sink, 256-frame buffer, the other core busy (a short form runs
# in `make test`).
soak: test-deps sound-server
	RUSTY_AUDIO_SOAK_SECONDS=60 $(CARGO) test --release --locked --test soak -- --nocapture

# The app's memory, CPU and frame-time budgets in a real (virtual) window: scripts/measure_app.sh.
measure-app: test-deps media sound-server
	bash scripts/measure_app.sh

# The app with a 10 000-file folder (frame time while the scanner fills it in and the list
# scrolls, memory per entry): scripts/measure_library.sh [N].
measure-library: test-deps sound-server
	bash scripts/measure_library.sh

# The app at 640×480, 800×600 and 1400×900 under Xvfb: docs/screenshots/layout_*.png; and the
# README's main view (a cue-sheet album, normalization, crossfade, repeat, an A–B loop): main.png.
screenshots: test-deps sound-server
	$(CARGO) build --locked
	bash scripts/screenshots.sh
	bash scripts/screenshot_main.sh

# Coverage-guided fuzzing (cargo-fuzz/libFuzzer; PERFORMANCE_GUIDE.md "Fuzzing"): every target
# for FUZZ_RUNS inputs. cargo-fuzz wants nightly flags: on the stable toolchain RUSTC_BOOTSTRAP=1
# with `--sanitizer none` works. New corpus entries go to target/fuzz-corpus/ (the committed seeds
# in fuzz/corpus/ are read, not grown); a crash lands in fuzz/artifacts/TARGET/ and, once fixed,
# belongs in fuzz/regressions/TARGET/, which `make test` replays (tests/fuzz_replay.rs).
FUZZ_TARGETS := decode preset settings cue_and_tags
FUZZ_RUNS ?= 1000000
fuzz: deps
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@set -e; cd fuzz; for t in $(FUZZ_TARGETS); do \
	  mkdir -p ../target/fuzz-corpus/$$t; \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --sanitizer none -O $$t ../target/fuzz-corpus/$$t corpus/$$t -- \
	    -runs=$(FUZZ_RUNS) -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1; \
	done

demo: test-deps
	bash scripts/make_demo.sh assets/demo.flac

clean-media:
	rm -rf $(MEDIA)

# Install for this user (PREFIX=~/.local; `sudo make install PREFIX=/usr/local` system-wide): the
# release binary, the desktop entry (menu, "Open with" for the formats it plays), the icon (SVG and
# the hicolor PNG sizes) and the AppStream metainfo. What was installed is listed in
# $(PREFIX)/share/rusty-audio/installed-files, and `make uninstall PREFIX=…` removes exactly that
# (the desktop's shared caches, mimeinfo.cache and icon-theme.cache, are refreshed, not removed).
# BIN: the binary to install (built in release mode when it is the default and missing).
PREFIX ?= $(HOME)/.local
APP_ID := io.github.rustyaudio.RustyAudio
BIN ?= target/release/rusty-audio
ICON_SIZES := 16 24 32 48 64 128 256
MANIFEST = $(DESTDIR)$(PREFIX)/share/rusty-audio/installed-files

install:
	@if [ "$(BIN)" = target/release/rusty-audio ]; then $(MAKE) -s deps && $(CARGO) build --release --locked; fi
	@set -e; d="$(DESTDIR)$(PREFIX)"; \
	files="bin/rusty-audio share/applications/$(APP_ID).desktop share/metainfo/$(APP_ID).metainfo.xml share/icons/hicolor/scalable/apps/$(APP_ID).svg"; \
	install -Dm755 "$(BIN)" "$$d/bin/rusty-audio"; \
	install -Dm644 assets/desktop/$(APP_ID).desktop "$$d/share/applications/$(APP_ID).desktop"; \
	install -Dm644 assets/desktop/$(APP_ID).metainfo.xml "$$d/share/metainfo/$(APP_ID).metainfo.xml"; \
	install -Dm644 assets/icons/$(APP_ID).svg "$$d/share/icons/hicolor/scalable/apps/$(APP_ID).svg"; \
	for s in $(ICON_SIZES); do \
	  install -Dm644 assets/icons/$$s.png "$$d/share/icons/hicolor/$${s}x$${s}/apps/$(APP_ID).png"; \
	  files="$$files share/icons/hicolor/$${s}x$${s}/apps/$(APP_ID).png"; \
	done; \
	mkdir -p "$$d/share/rusty-audio"; \
	printf '%s\n' $$files > "$(MANIFEST).tmp" && mv "$(MANIFEST).tmp" "$(MANIFEST)"; \
	if [ -z "$(DESTDIR)" ]; then \
	  command -v update-desktop-database >/dev/null && update-desktop-database -q "$$d/share/applications" || true; \
	  command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$$d/share/icons/hicolor" || true; \
	fi; \
	echo "Installed Rusty Audio in $$d (menu entry $(APP_ID).desktop; make uninstall PREFIX=$(PREFIX) removes it)"; \
	case ":$$PATH:" in *":$$d/bin:"*) ;; *) echo "Note: $$d/bin is not on your PATH";; esac

uninstall:
	@set -e; d="$(DESTDIR)$(PREFIX)"; \
	if [ ! -f "$(MANIFEST)" ]; then echo "Nothing installed in $$d ($(MANIFEST) is missing)"; exit 0; fi; \
	while read -r f; do \
	  case "$$f" in ""|/*|*..*) continue;; esac; \
	  rm -f "$$d/$$f"; \
	done < "$(MANIFEST)"; \
	rm -f "$(MANIFEST)"; rmdir "$$d/share/rusty-audio" 2>/dev/null || true; \
	if [ -z "$(DESTDIR)" ]; then \
	  command -v update-desktop-database >/dev/null && [ -d "$$d/share/applications" ] && update-desktop-database -q "$$d/share/applications" || true; \
	  command -v gtk-update-icon-cache >/dev/null && [ -f "$$d/share/icons/hicolor/icon-theme.cache" ] && gtk-update-icon-cache -q -t "$$d/share/icons/hicolor" || true; \
	fi; \
	echo "Removed Rusty Audio from $$d"
