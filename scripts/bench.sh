#!/usr/bin/env bash
# Regenerates every number and figure of docs/performance.md: installs what is missing (Debian
# packages), builds ceramic-bench (Release) in build-bench, runs the suite with repetitions and
# JSON output, and draws the figures into docs/figures/.
#
#   bash scripts/bench.sh                              # the whole suite, about 7-9 minutes on 2 vCPUs
#   bash scripts/bench.sh --benchmark_filter=mpmc      # extra flags go to ceramic-bench
#
# Each family of benchmarks (one benchmark function, all its arguments and repetitions) runs in a
# fresh process, so that no figure depends on what ran before it in the same process (the heap
# every fork copies, per-thread state such as ceramic's spin learner), and a filtered re-run
# measures what the suite measured (docs/performance.md, "One process per family"). The ratio
# table is computed at the end from the merged JSON (ceramic-bench --ratios_from).
#
# Outputs: docs/figures/bench.json (every repetition of every family, with the load average when
# its family started), docs/figures/bench.txt (the console tables with medians, the load average
# before each family, and the ratio table), docs/figures/*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

repetitions=${CERAMIC_BENCH_REPETITIONS:-5}
out=${CERAMIC_BENCH_OUT:-docs/figures}    # where the JSON, the text and the figures go
build=${CERAMIC_BENCH_BUILD:-build-bench}  # the build directory

# The last four are the outside libraries of BM_boost_mq_* and BM_iceoryx_* (optional at
# configure time: without them those benchmarks report "built without ...").
packages=(cmake g++ libbenchmark-dev nlohmann-json3-dev libcli11-dev python3-matplotlib
          libboost-dev iceoryx libiceoryx-posh-dev libiceoryx-hoofs-dev)
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

echo "== build ($build, Release)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCERAMIC_BENCH=ON -DCERAMIC_TESTS=OFF \
  -DCERAMIC_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j2 --target ceramic-bench
bin=$build/bench/ceramic-bench

# Debian's python3-matplotlib lives in the system interpreter; a python3 earlier on PATH (pyenv,
# a venv) may not see it.
python=python3
"$python" -c 'import matplotlib' 2>/dev/null || python=/usr/bin/python3

mkdir -p "$out"
parts=$(mktemp -d)
trap 'rm -rf "$parts"' EXIT

# The benchmarks to run (the caller's flags may filter them), grouped by function, in the order
# of the binary. A family's filter names its benchmarks exactly; the caller's other flags go to
# every family.
"$bin" --benchmark_list_tests=true "$@" >"$parts/list" || true
flags=()
for a in "$@"; do
  case "$a" in --benchmark_filter=*) ;; *) flags+=("$a") ;; esac
done
mapfile -t families < <("$python" - "$parts/list" "$parts" <<'EOF'
import re, sys
names = [l.strip() for l in open(sys.argv[1]) if l.strip()]
groups = {}
for n in names:
    groups.setdefault(n.split("/")[0], []).append(n)
for i, (fn, members) in enumerate(groups.items()):
    path = f"{sys.argv[2]}/filter.{i:03d}"
    with open(path, "w") as f:
        f.write("^(" + "|".join(re.escape(m) for m in members) + ")$")
    print(f"{i:03d} {fn}")
EOF
)
if [ ${#families[@]} -eq 0 ]; then
  echo "bench: no benchmark matches $*" >&2
  exit 1
fi

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== ceramic-bench, ${#families[@]} families, one process each, $repetitions repetitions;" \
     "load average at the start: $load" | tee "$out/bench.txt"
run_start=$(date +%s)
first=1
for fam in "${families[@]}"; do
  i=${fam%% *}
  name=${fam#* }
  fam_load=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "== $name (load average $fam_load)" | tee -a "$out/bench.txt"
  # The machine description (on stderr) is shown once, before the first family's table; every
  # process would print it again.
  context='^(Running |Run on |CPU Caches:|  L[123] |Load Average:|\*\*\*WARNING\*\*\* Library was built as DEBUG|[0-9]{4}-[0-9]{2}-[0-9]{2}T)'
  [ "$first" -eq 1 ] && context='^$'
  first=0
  "$bin" --benchmark_filter="$(cat "$parts/filter.$i")" --benchmark_repetitions="$repetitions" \
    --benchmark_display_aggregates_only=true \
    --benchmark_out="$parts/out.$i.json" --benchmark_out_format=json ${flags[@]+"${flags[@]}"} \
    2> >(grep -v -E "$context" >&2) \
    | awk '/^Ratios \(/ { skip = 1 } !skip' \
    | tee -a "$out/bench.txt"
done
run_end=$(date +%s)

# One JSON file: the first run's context, every family's benchmarks, each marked with the load
# average its process saw at its start.
"$python" - "$out/bench.json" "$parts"/out.*.json <<'EOF'
import json, sys
merged = None
for path in sys.argv[2:]:
    with open(path) as f:
        doc = json.load(f)
    load = doc.get("context", {}).get("load_avg")
    for b in doc.get("benchmarks", []):
        b["family_load_avg"] = load
    if merged is None:
        merged = doc
        merged["context"]["one_process_per_family"] = True
    else:
        merged["benchmarks"].extend(doc.get("benchmarks", []))
with open(sys.argv[1], "w") as f:
    json.dump(merged, f, indent=2)
EOF
"$bin" --ratios_from="$out/bench.json" | tee -a "$out/bench.txt"
{
  echo
  echo "load average at the start: $load; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "suite: $((run_end - run_start)) s; $(date -u '+%Y-%m-%d %H:%M UTC')"
} | tee -a "$out/bench.txt"

echo "== figures"
"$python" scripts/plot_bench.py "$out/bench.json" "$out"

echo "bench: done in $(( $(date +%s) - start )) s (build, suite, figures)"
