#!/usr/bin/env bash
# Fuzzes the trace reader for N seconds (default 60):
#
#   detector/fuzz/run.sh [SECONDS]
#
# Builds detector/fuzz with clang in its own build directory ($CERAMIC_FUZZ_BUILD, default
# build-fuzz at the top of the tree), writes a seed corpus (an empty minimal trace and a real
# trace recorded from a few Procs), and runs ceramic-fuzz-trace-reader on it. The corpus grows
# in $CERAMIC_FUZZ_BUILD/corpus and is reused by the next run. A crash, hang, leak or undefined
# behaviour stops the run and leaves the input in $CERAMIC_FUZZ_BUILD/artifacts/; replay it with
#
#   $CERAMIC_FUZZ_BUILD/ceramic-fuzz-trace-reader $CERAMIC_FUZZ_BUILD/artifacts/crash-...
#
# KEEP_GOING=1 runs in libFuzzer's fork mode and goes on after a finding (every one is saved).
# Exit status: 0 if nothing was found.
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${CERAMIC_FUZZ_BUILD:-$root/build-fuzz}
cxx=${CXX_FUZZ:-clang++}

mkdir -p "$build"
cmake -S "$root/detector/fuzz" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" --target ceramic-fuzz-trace-reader ceramic-fuzz-seeds

corpus=$build/corpus
artifacts=$build/artifacts
mkdir -p "$corpus" "$artifacts"
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
"$build/ceramic-fuzz-seeds" "$seeds"
cp "$seeds"/*.trace "$corpus"/

max_len=$(( $(stat -c %s "$seeds/real.trace") + 4096 ))
extra=()
if [[ "${KEEP_GOING:-0}" != 0 ]]; then
  extra=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi
echo "fuzzing the trace reader for ${seconds}s (corpus $corpus, $(ls "$corpus" | wc -l) inputs)"
start=$(date +%s)
set +e
"$build/ceramic-fuzz-trace-reader" "$corpus" \
  -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=4096 \
  -dict="$root/detector/fuzz/trace.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
  "${extra[@]}"
status=$?
set -e
echo "fuzzed for $(( $(date +%s) - start ))s; exit status $status;" \
     "findings in $artifacts: $(ls "$artifacts" | wc -l)"
exit $status
