#!/usr/bin/env bash
# Cross-builds sb-mfcc, sb-embed, sb-rank and sb-tensor (and sb-train, which
# sb-embed's tests use to make their model) for aarch64 in the embedded
# profile, runs their unit and command-line tests under qemu-user, and checks
# that sb-embed on arm64 gives x86-64's embeddings within 1e-5 for an f32
# model (HOST_BUILD: an x86-64 build with tools, default build-ed-plain or
# build; skipped when none). `make cross-arm64` calls this. Needs root (or sudo) the first
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
ninja -C "$BUILD" tools/sb-mfcc tools/sb-tensor tools/sb-embed tools/sb-rank tools/sb-train \
  tests/test_audio tests/test_core tests/test_backend tests/test_io tests/test_model tests/sbt_bench

bin="$BUILD/tools/sb-mfcc"
echo "== $(file -b "$bin" | cut -d, -f1-2)"
echo "== needs: $(aarch64-linux-gnu-readelf -d "$bin" | awk '/NEEDED/{gsub(/[][]/,"",$5); printf "%s ", $5}')"
aarch64-linux-gnu-strip -o "$BUILD/sb-mfcc.stripped" "$bin"
echo "== size: $(stat -c %s "$bin") bytes, stripped $(stat -c %s "$BUILD/sb-mfcc.stripped") bytes"
for t in sb-embed sb-rank sb-tensor; do
  aarch64-linux-gnu-strip -o "$BUILD/$t.stripped" "$BUILD/tools/$t"
  echo "== $t: $(stat -c %s "$BUILD/tools/$t") bytes, stripped $(stat -c %s "$BUILD/$t.stripped"); needs: $(aarch64-linux-gnu-readelf -d "$BUILD/tools/$t" | awk '/NEEDED/{gsub(/[][]/,"",$5); printf "%s ", $5}')"
done

# Unit tests through meson's exe_wrapper (qemu-aarch64).
# unit-io is left out: its out-of-memory cases set RLIMIT_AS, which under
# qemu-user limits the emulator itself (child status 768), not the program.
meson test -C "$BUILD" --no-rebuild unit-audio unit-core unit-backend unit-model --print-errorlogs

# Command-line tests: the tools behind qemu wrappers, first on PATH.
wrap="$BUILD/qemu-bin"
mkdir -p "$wrap"
for t in sb-mfcc sb-tensor sb-embed sb-rank sb-train; do
  printf '#!/bin/sh\nexec qemu-aarch64 "%s" "$@"\n' "$SRC/$BUILD/tools/$t" > "$wrap/$t"
  chmod +x "$wrap/$t"
done
# The tests run $SB_BUILD/tests/sbt_bench (tensor.sh's streaming-memory case)
# directly: with no binfmt_misc entry for aarch64 it needs a wrapper too, so
# SB_BUILD names a folder of wrappers in the build's layout.
wbuild="$BUILD/qemu-build"
mkdir -p "$wbuild/tests"
printf '#!/bin/sh\nexec qemu-aarch64 "%s" "$@"\n' "$SRC/$BUILD/tests/sbt_bench" > "$wbuild/tests/sbt_bench"
chmod +x "$wbuild/tests/sbt_bench"
for t in mfcc embed rank tensor; do
  SB_BIN="$SRC/$wrap" SB_BUILD="$SRC/$wbuild" SB_SOURCE="$SRC" SB_TESTDATA=${SB_TESTDATA:-$SRC/tests/data} \
    bash tests/cli/run.sh "$SRC/tests/cli/$t.sh"
done

# arm64 against x86-64: one f32 model (trained here by the host build), the
# same features, embeddings within 1e-5 element for element.
host=${HOST_BUILD:-}
[ -n "$host" ] || for d in build-ed-plain build; do [ -x "$d/tools/sb-embed" ] && { host=$d; break; }; done
if [ -n "$host" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/d"
  /usr/bin/python3 tests/cli/toydata.py "$work/d" 40 2 3
  "$host/tools/sb-tensor" from-npy "$work/d/feats.npz" -o "$work/feats.sbt"
  "$host/tools/sb-tensor" from-npy "$work/d/images.npz" -o "$work/d/images.sbt"
  cp "$work/feats.sbt" "$work/d/feats.sbt"
  "$host/tools/sb-train" --preset row7 --data "$work/d" --epochs 2 --hidden 64 --conv-channels 16 \
    --attn 16 --embed 16 --threads 1 -o "$work/m.sbt" 2>/dev/null
  "$host/tools/sb-embed" -q -m "$work/m.sbt" -e s2i "$work/feats.sbt" -o "$work/x86.sbt"
  "$wrap/sb-embed" -q -m "$work/m.sbt" -e s2i "$work/feats.sbt" -o "$work/arm.sbt"
  "$host/tools/sb-tensor" to-npy -o "$work/x86.npz" "$work/x86.sbt"
  "$host/tools/sb-tensor" to-npy -o "$work/arm.npz" "$work/arm.sbt"
  /usr/bin/python3 -c "
import numpy as np, sys
a, b = np.load('$work/x86.npz'), np.load('$work/arm.npz')
assert a.files == b.files
d = max(float(np.abs(a[k] - b[k]).max()) for k in a.files)
same = all(np.array_equal(a[k], b[k]) for k in a.files)
print('== sb-embed arm64 vs x86-64 ($host, %d utterances, H 64): max |diff| %.3g%s' % (len(a.files), d, ', bit-identical' if same else ''))
sys.exit(0 if d <= 1e-5 else 1)"
else
  echo "== no x86-64 build with sb-embed (HOST_BUILD): arm64 vs x86-64 not compared"
fi

# Speed under emulation says nothing about a real board, but shows it runs.
f=${SB_TESTDATA:-$SRC/tests/data}/mfcc/speech-16k-s16.wav
"$wrap/sb-mfcc" "$f" -o /dev/null
