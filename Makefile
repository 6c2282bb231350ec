# sb — thin wrapper around meson. The two commands a new user needs:
#   make test    install what is missing (Debian 12, as root), build, run every test
#   make demo    the sample pipeline: corpus -> features -> training -> evaluation
# Everything else: make help.

SHELL      := /bin/bash
BUILD      ?= build
MESON_OPTS ?=
JOBS       ?= $(shell nproc)
SB_BIN      = $(abspath $(BUILD))/tools

# Debian packages the build and the tests need (make deps installs them).
DEB_BUILD  = g++ meson ninja-build pkg-config libsndfile1-dev libkissfft-dev \
             libzstd-dev zlib1g-dev libcxxopts-dev libboost-test-dev libopenblas-dev \
             liblinear-dev libsoxr-dev libespeak-ng-dev nlohmann-json3-dev libmatio-dev
DEB_TEST   = espeak-ng sox python3-numpy python3-sklearn time
DEB_DEMO   = gnuplot-nox
DEB_DEV    = clang libclang-rt-14-dev pandoc
DEB_BENCH  = sptk python3-torch python3-torchaudio python3-sklearn hyperfine
DEB_CROSS  = crossbuild-essential-arm64 qemu-user

.PHONY: all help deps deps-dev deps-bench build test test-unit test-embedded test-asan \
        fuzz bench demo install man clean cross-arm64 gpu-bundle

all: build

help:
	@echo "make test         install deps, build, run all tests (the CI command)"
	@echo "make demo         sample corpus -> sb-mfcc -> sb-train -> evaluations (samples/)"
	@echo "make build        configure ($(BUILD)/) and build"
	@echo "make bench        speed figures (archive, MFCC, engine, training, evaluation)"
	@echo "make test-asan    the whole suite under ASan+UBSan"
	@echo "make fuzz         libFuzzer on every reader, FUZZ_SECONDS (60) each, summary"
	@echo "make test-embedded  -Dblas=none -Dcuda=disabled build and its tests"
	@echo "make cross-arm64  cross-build sb-mfcc, sb-embed, sb-rank, sb-tensor for aarch64, test them under qemu"
	@echo "make gpu-bundle   $(BUILD)/gpu-bundle: the tools, unit-cuda and their libraries, for tests/gpu/run.sh"
	@echo "make install      meson install (tools, libsb, headers, man pages); PREFIX=, DESTDIR="
	@echo "make man          regenerate man/*.[157] from man/*.md (pandoc)"

# Installs only what is missing; quiet when everything is there.
define install_debs
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "sb: missing Debian packages:$$missing"; \
	    echo "sb: run 'make deps' as root, or: apt-get install$$missing"; exit 1; \
	  fi; \
	  echo "sb: installing$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "sb: apt-get could not install:$$missing"; exit 1; }; \
	fi
endef

deps:
	$(call install_debs,$(DEB_BUILD) $(DEB_TEST) $(DEB_DEMO))

deps-dev:
	$(call install_debs,$(DEB_DEV))

deps-bench:
	$(call install_debs,$(DEB_BENCH))

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

# meson's summary is turned into the plain "N passed, N failed" closing line.
define run_meson_tests
	@set -o pipefail; meson test -C $(1) --print-errorlogs --num-processes $(JOBS) $(2) 2>&1 | tee $(1)/test-output.txt; \
	rc=$$?; \
	awk '/^Ok:/{ok=$$2} /^Fail:/{f=$$2} /^Unexpected Pass:/{f+=$$3} /^Timeout:/{f+=$$2} /^Skipped:/{s=$$2} \
	     END{printf "%s: %d passed, %d failed, %d skipped\n", "$(1)", ok, f, s}' $(1)/test-output.txt; \
	exit $$rc
endef

test-unit: build
	$(call run_meson_tests,$(BUILD),)

test: test-unit test-embedded

# The embedded profile: no BLAS, no CUDA; only libsndfile, KissFFT, zstd,
# (libsoxr) and the C++ runtime are linked into sb-mfcc.
test-embedded: deps
	@[ -f $(BUILD)-embedded/build.ninja ] || meson setup $(BUILD)-embedded -Dblas=none -Dcuda=disabled
	ninja -C $(BUILD)-embedded -j $(JOBS)
	$(call run_meson_tests,$(BUILD)-embedded,)

test-asan: deps
	@[ -f $(BUILD)-asan/build.ninja ] || meson setup $(BUILD)-asan -Db_sanitize=address,undefined \
	    -Dbuildtype=debugoptimized -Db_lundef=false -Dcuda=disabled
	ninja -C $(BUILD)-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  $(MAKE) --no-print-directory _asan_run
_asan_run:
	$(call run_meson_tests,$(BUILD)-asan,--timeout-multiplier 4)

# One libFuzzer harness per reader (tests/fuzz/), the library instrumented
# too; each runs FUZZ_SECONDS, then one summary line per harness and a total.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= archive npy kaldi table model audio
fuzz: deps deps-dev
	@[ -f $(BUILD)-fuzz/build.ninja ] || CXX=clang++ CC=clang meson setup $(BUILD)-fuzz -Dfuzz=true \
	    -Dcuda=disabled -Dtests=false -Db_lundef=false -Dbuildtype=debugoptimized
	ninja -C $(BUILD)-fuzz -j $(JOBS) $(addprefix tests/fuzz_,$(FUZZ_TARGETS))
	bash tests/fuzz/run.sh $(BUILD)-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: build deps-bench
	@for b in tests/bench/*.sh; do echo "== $$b"; SB_BIN=$(SB_BIN) SB_BUILD=$(abspath $(BUILD)) \
	  SB_SOURCE=$(CURDIR) bash $$b || exit 1; done

demo: build
	$(MAKE) -C samples demo SB_BIN=$(SB_BIN)

# make install [PREFIX=/opt/sb] [DESTDIR=/tmp/stage]: PREFIX reconfigures the
# build's prefix; DESTDIR stages the tree below it (for packaging).
PREFIX ?=
DESTDIR ?=
install: build
	$(if $(PREFIX),meson configure $(BUILD) --prefix=$(abspath $(PREFIX)) && ninja -C $(BUILD) -j $(JOBS))
	meson install -C $(BUILD) $(if $(DESTDIR),--destdir $(abspath $(DESTDIR)))

man: deps-dev
	@for md in man/*.md; do out=$${md%.md}; pandoc -s -f markdown-smart -t man $$md -o $$out && echo "$$md -> $$out"; done

cross-arm64:
	bash tests/cross/arm64.sh

# What tests/gpu/run.sh needs on a machine with a GPU and no -dev packages:
# the tools and test programs, stripped, and the shared libraries they use
# except the CUDA ones and glibc's (the GPU machine has its own).
gpu-bundle: build
	rm -rf $(BUILD)/gpu-bundle && mkdir -p $(BUILD)/gpu-bundle/bin $(BUILD)/gpu-bundle/lib
	find $(BUILD)/tools -maxdepth 1 -type f -name 'sb-*' -perm -u+x -exec cp -t $(BUILD)/gpu-bundle/bin/ {} +
	cp $(BUILD)/tests/test_cuda $(BUILD)/tests/bench_engine $(BUILD)/gpu-bundle/bin/
	strip $(BUILD)/gpu-bundle/bin/*
	ldd $(BUILD)/gpu-bundle/bin/* | awk '$$3 ~ /^\// { print $$3 }' | sort -u \
	  | grep -Ev '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*|libcuda|libcudart|libcublas[^/]*|libcudnn[^/]*|libnvidia[^/]*)\.so' \
	  | xargs -r cp -L -t $(BUILD)/gpu-bundle/lib/
	@du -sh $(BUILD)/gpu-bundle

clean:
	rm -rf $(BUILD) $(BUILD)-embedded $(BUILD)-asan $(BUILD)-fuzz $(BUILD)-arm64 samples/out
