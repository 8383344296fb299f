#!/usr/bin/env bash
# Builds the libFuzzer binary (AscribeCore with coverage and AddressSanitizer) and fuzzes one
# target for SECONDS, growing Tests/fuzz/corpus/TARGET; crashes are written to
# Tests/fuzz/crashers/TARGET. See docs/FUZZING.md.
#   Tests/fuzz/run.sh TARGET SECONDS [extra libFuzzer flags]    TARGET: jobfile cron crontab note
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"

if [ $# -lt 2 ]; then
  echo "usage: Tests/fuzz/run.sh TARGET SECONDS [libFuzzer flags]   (TARGET: jobfile cron crontab note)" >&2
  exit 2
fi
target=$1 seconds=$2
shift 2
corpus=Tests/fuzz/corpus/$target
crashers=Tests/fuzz/crashers/$target
if [ ! -d "$corpus" ]; then
  echo "run.sh: no corpus directory $corpus (TARGET: jobfile cron crontab note)" >&2
  exit 2
fi
mkdir -p "$crashers"

# Not SwiftPM: the sanitizer flags must reach AscribeCore only, never the static ascribe-exec
# helper. AscribeCore is built with -enable-testing so FuzzTargets.swift (shared with the unit
# test that replays the corpus) can use its internals.
build=.build-fuzzer
binary=$build/ascribe-fuzz
sources=$(find Sources/AscribeCore -name '*.swift' | sort)
harness="Tests/AscribeCoreTests/FuzzTargets.swift Tests/fuzz/Entry.swift"
if [ ! -x "$binary" ] || [ -n "$(find $sources $harness -newer "$binary" | head -1)" ]; then
  mkdir -p "$build"
  echo "run.sh: building $binary"
  # shellcheck disable=SC2086
  swiftc -module-name AscribeCore -parse-as-library -swift-version 6 -O -g -enable-testing \
    -sanitize=fuzzer,address -wmo -emit-module -emit-module-path "$build/AscribeCore.swiftmodule" \
    -c $sources -o "$build/AscribeCore.o"
  # shellcheck disable=SC2086
  swiftc -module-name AscribeFuzz -parse-as-library -swift-version 6 -O -g \
    -sanitize=fuzzer,address -I "$build" $harness "$build/AscribeCore.o" -o "$binary"
fi

# One fuzzing process, in the foreground (libFuzzer's -jobs would fork workers that log to
# ./fuzz-N.log). The Swift backtracer would make every crash take seconds; libFuzzer prints
# its own trace.
SWIFT_BACKTRACE=enable=no ASCRIBE_FUZZ_TARGET=$target "$binary" -max_total_time="$seconds" \
  -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$crashers/" "$@" "$corpus"
