#!/usr/bin/env bash
# Runs one command-line test script (tests/cli/<group>.sh) with the helpers of
# tests/cli/lib.sh, the freshly built tools first on PATH and a scratch folder
# in $T. Prints one line per case and a closing "N passed, N failed" line.
set -u
script=$1
export PATH="$SB_BIN:$PATH"
T=$(mktemp -d "${TMPDIR:-/tmp}/sb-cli.XXXXXX")
export T
trap 'rm -rf "$T"' EXIT
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
cd "$T" || exit 2
# shellcheck disable=SC1090
source "$script"
cli_summary
