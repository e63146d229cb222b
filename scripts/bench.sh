#!/usr/bin/env bash
# Regenerates every number and figure of docs/performance.md: installs what is missing (Debian
# packages), builds ceramic-bench (Release) in build-bench, runs the whole suite with repetitions
# and JSON output, and draws the figures into docs/figures/.
#
#   bash scripts/bench.sh                              # the whole suite, about 6-8 minutes on 2 vCPUs
#   bash scripts/bench.sh --benchmark_filter=mpmc      # extra flags go to ceramic-bench
#
# Outputs: docs/figures/bench.json (every repetition), docs/figures/bench.txt (the console
# table with medians, and the ratio table), docs/figures/*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

repetitions=${CERAMIC_BENCH_REPETITIONS:-5}
out=docs/figures

packages=(cmake g++ libbenchmark-dev nlohmann-json3-dev libcli11-dev python3-matplotlib)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

echo "== build (build-bench, Release)"
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCERAMIC_TESTS=OFF -DCERAMIC_EXAMPLES=OFF \
  >/dev/null
cmake --build build-bench -j2 --target ceramic-bench

mkdir -p "$out"
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== ceramic-bench, $repetitions repetitions; load average at the start: $load"
run_start=$(date +%s)
./build-bench/bench/ceramic-bench --benchmark_repetitions="$repetitions" \
  --benchmark_display_aggregates_only=true \
  --benchmark_out="$out/bench.json" --benchmark_out_format=json "$@" | tee "$out/bench.txt"
run_end=$(date +%s)
{
  echo
  echo "load average at the start: $load; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "suite: $((run_end - run_start)) s; $(date -u '+%Y-%m-%d %H:%M UTC')"
} | tee -a "$out/bench.txt"

echo "== figures"
# Debian's python3-matplotlib lives in the system interpreter; a python3 earlier on PATH (pyenv,
# a venv) may not see it.
python=python3
"$python" -c 'import matplotlib' 2>/dev/null || python=/usr/bin/python3
"$python" scripts/plot_bench.py "$out/bench.json" "$out"

echo "bench: done in $(( $(date +%s) - start )) s (build, suite, figures)"
