#!/usr/bin/env bash
# Cross-builds sb-mfcc (and sb-tensor, which its tests use) for aarch64 in
# the embedded profile, then runs its unit and command-line tests under
# qemu-user. `make cross-arm64` calls this. Needs root (or sudo) the first
# time, to add the arm64 architecture and install:
#   crossbuild-essential-arm64 qemu-user and the :arm64 -dev packages.
# Environment: BUILD (default build-arm64), SKIP_DEPS=1 to skip apt.
set -eu
cd "$(dirname "$0")/../.."
SRC=$PWD
BUILD=${BUILD:-build-arm64}
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

if [ "${SKIP_DEPS:-0}" != 1 ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
  fi
  $SUDO apt-get update -qq
  # cxxopts is header-only (arch: all): the host's copy serves both.
  $SUDO apt-get install -y -qq --no-install-recommends \
    crossbuild-essential-arm64 qemu-user pkg-config libcxxopts-dev \
    libsndfile1-dev:arm64 libsoxr-dev:arm64 libkissfft-dev:arm64 libzstd-dev:arm64 zlib1g-dev:arm64 \
    libboost-test-dev:arm64
fi

if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" --cross-file tests/cross/aarch64-linux-gnu.ini \
    -Dblas=none -Dcuda=disabled -Dbuildtype=release
fi
ninja -C "$BUILD" tools/sb-mfcc tools/sb-tensor tests/test_audio

bin="$BUILD/tools/sb-mfcc"
echo "== $(file -b "$bin" | cut -d, -f1-2)"
echo "== needs: $(aarch64-linux-gnu-readelf -d "$bin" | awk '/NEEDED/{gsub(/[][]/,"",$5); printf "%s ", $5}')"
aarch64-linux-gnu-strip -o "$BUILD/sb-mfcc.stripped" "$bin"
echo "== size: $(stat -c %s "$bin") bytes, stripped $(stat -c %s "$BUILD/sb-mfcc.stripped") bytes"

# Unit tests through meson's exe_wrapper (qemu-aarch64).
meson test -C "$BUILD" --no-rebuild unit-audio --print-errorlogs

# Command-line tests: the tools behind qemu wrappers, first on PATH.
wrap="$BUILD/qemu-bin"
mkdir -p "$wrap"
for t in sb-mfcc sb-tensor; do
  printf '#!/bin/sh\nexec qemu-aarch64 "%s" "$@"\n' "$SRC/$BUILD/tools/$t" > "$wrap/$t"
  chmod +x "$wrap/$t"
done
SB_BIN="$SRC/$wrap" SB_TESTDATA=${SB_TESTDATA:-$SRC/tests/data} \
  bash tests/cli/run.sh "$SRC/tests/cli/mfcc.sh"

# Speed under emulation says nothing about a real board, but shows it runs.
f=${SB_TESTDATA:-$SRC/tests/data}/mfcc/speech-16k-s16.wav
"$wrap/sb-mfcc" "$f" -o /dev/null
